"""The ``mffssim`` console script.

``mffssim fuse SRC1 SRC2 [SRC...] -o OUT`` fuses K registered sources by maximising the MFF-SSIM index
and writes the fused image at the sources' bit depth. Every input is checked before any work, and an
error prints one line naming the file (or the option) to stderr and exits with status 2, writing nothing;
a failure to write (read-only folder, full disk) prints one line naming the file and exits with status 1,
leaving what was there before untouched (the image and --save-map's map are renamed into place together).
With ``--detector resnet --weights W.pt`` the trained network gives the map; for K > 2 sources the fusion
then goes one pair at a time, ((X1 + X2) + X3) + ..., as the paper's MS-ResNet does.
"""
from __future__ import annotations

import argparse
import math
import os
import pickle
import re
import sys
from pathlib import Path
from typing import Sequence

from .io import IMAGE_EXTENSIONS, atomic_write_all, read_focus_map, read_image_set, write_focus_map, write_image

PROG = "mffssim"
# Torch CPU threads of one fusion (--threads). One: measured with benchmarks/bench_threads.py on a busy 2-core
# machine, a 512x512 colour fusion took 4-10 s on one thread and 26-91 s on two (torch's default there), with or
# without a competing CPU-bound process; one thread spends only about 2 CPU-seconds on it, so a second thread can
# save at most about a second on an idle machine. The workflow sets its own count (fusion.threads).
DEFAULT_THREADS = 1
EXIT_ERROR = 2  # bad input: a file, an option
EXIT_FAILURE = 1  # the machine: cannot write, out of memory


class CommandError(Exception):
    """A problem with the command's inputs: printed as one line, exit status 2."""


def _odd_window(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an odd positive integer, got {text!r}") from None
    if value < 1 or value % 2 == 0:
        raise argparse.ArgumentTypeError(f"must be an odd positive integer, got {value}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer (torch CPU threads), got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (torch CPU threads), got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {value}")
    return value


def _tol(text: str) -> float | None:
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative number or 'none', got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite non-negative number or 'none', got {value}")
    return value


_MEMORY_UNITS = {"": 2**20, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_memory(text: str) -> int:
    """Bytes from a size such as ``4G``, ``4GB``, ``4GiB``, ``500M`` or ``1.5g`` (binary units: K = 1024,
    M = 1024**2, G = 1024**3, T = 1024**4; a plain number is megabytes). ValueError for anything else."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b)?\s*", str(text), re.IGNORECASE)
    if not match or (match.group(3) and not match.group(2)):
        raise ValueError(f"expected a size such as 4G or 500M (K, M, G, T: powers of 1024; a plain number is MB), "
                         f"got {text!r}")
    value = float(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"must be a positive size, got {text!r}")
    return int(value)


def _memory(text: str) -> int:
    try:
        return parse_memory(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class BudgetError(Exception):
    """The work cannot be done within --max-memory: printed as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage block) with exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mffssim`` command (one sub-command: ``fuse``)."""
    from . import __version__
    from .fusion import DETECTORS, INITS, KEEPS, OPTIMIZERS, VARIANTS

    parser = _Parser(prog=PROG, description="Multi-focus image fusion by MFF-SSIM optimisation.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    fuse = commands.add_parser(
        "fuse",
        help="fuse K >= 2 registered sources into one all-in-focus image",
        description="Fuse K >= 2 registered sources by maximising the MFF-SSIM index (Algorithm 1).",
    )
    fuse.add_argument("sources", nargs="+", metavar="SRC", help="source images (8/16-bit PNG, TIFF, JPEG)")
    fuse.add_argument("-o", "--output", required=True, metavar="OUT",
                      help="fused image, written at the sources' bit depth (its folder is created)")
    fuse.add_argument("--map", metavar="MAP.png", help="focus map file (default: detect one)")
    fuse.add_argument("--save-map", metavar="PATH", help="also write the focus map used (PNG)")
    fuse.add_argument("--detector", choices=DETECTORS, default="lap",
                      help="focus detector when no --map is given (default: lap, the Laplacian energy)")
    fuse.add_argument("--weights", metavar="W.pt", help="weights of the ResNet detector (--detector resnet; K > 2 sources are fused one pair at a time)")
    fuse.add_argument("--window", type=_odd_window, metavar="N", help="odd window size (default: the authors' rule)")
    fuse.add_argument("--variant", choices=VARIANTS, default="paper",
                      help="paper (the equations, default) or reference (the authors' code)")
    fuse.add_argument("--optimizer", choices=OPTIMIZERS, default="adam-cosine", help="default: adam-cosine")
    fuse.add_argument("--lr", type=_positive_float, help="learning rate (default: the optimiser's)")
    fuse.add_argument("--iterations", type=_positive_int, metavar="N", help="default: the optimiser's")
    fuse.add_argument("--tol", type=_tol, default=1e-6,
                      help="stop when the best of the latest 10 iterates beats the earlier best by less than this "
                           "(tested from iteration 20); 'none' never stops")
    fuse.add_argument("--init", choices=INITS, default="pixelwise",
                      help="initial image (default: pixel-wise fusion with the map; mean: the paper's)")
    fuse.add_argument("--keep", choices=KEEPS, default="best",
                      help="best: the iterate with the highest Q (default, never below the start); "
                           "last: the last iterate (the authors' code)")
    fuse.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    fuse.add_argument("--threads", type=_threads, default=DEFAULT_THREADS, metavar="N",
                      help=f"torch CPU threads (default: {DEFAULT_THREADS}: on a busy 2-core machine two threads made a "
                           "512x512 fusion 6-15x slower, and one thread needs only about 2 CPU-seconds for it)")
    fuse.add_argument("--max-memory", type=_memory, metavar="SIZE",
                      help="memory budget of the fusion, e.g. 4G or 500M (K/M/G/T are powers of 1024; a plain "
                           "number is MB); exit status 1 when the frames cannot be fused within it. Default: no limit")
    fuse.add_argument("--tile", type=_threads, metavar="N",
                      help="band solver's tile side in window centres (default 128)")
    fuse.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def _check_image_path(path: Path, option: str) -> None:
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise CommandError(f"{path}: {option} needs an image extension ({', '.join(IMAGE_EXTENSIONS)})")
    if path.exists() and path.is_dir():
        raise CommandError(f"{path}: {option} is a directory")


def _check_writable(path: Path, option: str) -> None:
    """Refuse before any work an output whose folder cannot be made or written (the folder is not made here)."""
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise CommandError(f"{path}: {option} cannot be written, {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CommandError(f"{path}: {option} cannot be written, {folder} is read-only")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _check_outputs(args) -> None:
    """The outputs must be writable and must not overwrite an input (or each other)."""
    output = Path(args.output)
    _check_image_path(output, "-o")
    _check_writable(output, "-o")
    inputs = [("a source", Path(p)) for p in args.sources]
    if args.map is not None:
        inputs.append(("the --map file", Path(args.map)))
    if args.save_map is not None:
        saved = Path(args.save_map)
        if saved.suffix.lower() != ".png":
            raise CommandError(f"{args.save_map}: --save-map writes a PNG file (use a .png name)")
        if saved.exists() and saved.is_dir():
            raise CommandError(f"{saved}: --save-map is a directory")
        _check_writable(saved, "--save-map")
        if _same_file(saved, output):
            raise CommandError(f"{saved}: --save-map and -o name the same file")
        for what, path in inputs:
            if _same_file(saved, path):
                raise CommandError(f"{saved}: --save-map would overwrite {what}")
    for what, path in inputs:
        if _same_file(output, path):
            raise CommandError(f"{output}: -o would overwrite {what}")


def _resnet_weights(args) -> str:
    """The checked --weights path of --detector resnet."""
    if args.weights is None:
        raise CommandError("--detector resnet needs --weights W.pt")
    if not Path(args.weights).is_file():
        raise CommandError(f"{args.weights}: no such weights file")
    return args.weights


def _focus_map(args, sources, device: str):
    """The map from --map, or from the chosen detector; None lets fuse() run the Laplacian detector."""
    count, height, width = sources.shape[:3]
    if args.map is not None:
        return read_focus_map(args.map, count, shape=(height, width))
    if args.detector == "lap":
        return None
    weights = _resnet_weights(args)
    try:
        from .detector import detect_focus_map
    except ImportError as error:
        raise CommandError(f"--detector resnet is not available: {error}") from None
    try:
        return detect_focus_map(sources, weights, device=device)
    except Exception as error:  # torch.load raises UnpicklingError, RuntimeError, KeyError... for a bad file
        raise CommandError(f"{weights}: cannot be used as detector weights ({type(error).__name__}: {_one_line(error)})") from None


def _fuse_sequential(args, sources, device: str, fuse, options: dict):
    """MS-ResNet for K > 2 (:func:`mffssim.detector.inference.fuse_sequential_result`), a bad weights file
    reported as a CommandError naming it."""
    weights = _resnet_weights(args)
    try:
        from .detector.inference import fuse_sequential_result
    except ImportError as error:
        raise CommandError(f"--detector resnet is not available: {error}") from None
    try:
        return fuse_sequential_result(sources, weights, device=device, fuse=fuse, **options)
    except (OSError, RuntimeError, KeyError, pickle.UnpicklingError, EOFError) as error:
        raise CommandError(f"{weights}: cannot be used as detector weights ({type(error).__name__}: {_one_line(error)})") from None


def run_fuse(args: argparse.Namespace) -> None:
    """Check every input, fuse, then write the outputs (the image last but one, the map last)."""
    import torch

    from ._device import resolve_device
    from .fusion import fuse
    from .ssim import window_size

    output = Path(args.output)
    _check_outputs(args)
    torch.set_num_threads(args.threads)  # for this process: main() is the command
    if len(args.sources) < 2:
        raise CommandError(f"{args.sources[0]}: multi-focus fusion needs at least two sources, got one")
    try:
        device = str(resolve_device(args.device))
    except (ValueError, RuntimeError) as error:  # torch: RuntimeError for a malformed name such as cpu:x
        raise CommandError(f"--device: {_one_line(error)}") from None
    if args.init == "pixelwise" and (args.map is not None or args.detector == "lap"):
        return _run_streamed(args, output, device)
    sources, bit_depth = read_image_set(args.sources)
    height, width = sources.shape[1:3]
    window = args.window if args.window is not None else window_size(height, width)
    if window > min(height, width):
        raise CommandError(f"{args.sources[0]}: the image ({width}x{height}) is smaller than the window {window}")
    options = dict(window=window, variant=args.variant, optimizer=args.optimizer, lr=args.lr,
                   iterations=args.iterations, tol=args.tol, init=args.init, keep=args.keep,
                   progress=not args.quiet)
    if args.map is None and args.detector == "resnet" and len(sources) > 2:
        result = _fuse_sequential(args, sources, device, fuse, options)
    else:
        result = fuse(sources, _focus_map(args, sources, device), device=device, **options)
    depth = bit_depth if bit_depth in (8, 16) else 16
    writes = [(output, lambda tmp: write_image(tmp, result.image, depth))]
    if args.save_map is not None:
        writes.append((Path(args.save_map), lambda tmp: write_focus_map(tmp, result.focus_map)))
    atomic_write_all(writes)  # both or neither
    if not args.quiet:
        print(
            f"{output}: Q {result.trace[0]:.6f} -> {result.q:.6f} in {result.iterations} iterations, "
            f"{result.seconds:.1f} s (window {result.window}, {result.variant}, {result.optimizer}, {result.device}, "
            f"{torch.get_num_threads()} threads)",
            file=sys.stderr,
        )


def _run_streamed(args, output: Path, device: str) -> None:
    """A one-hot map (the Laplacian detector or --map) and the pixel-wise start: the frames are streamed
    from disk one at a time and fused by the band solver (mffssim.stack), so memory does not grow with K."""
    import numpy as np
    import torch

    from .io import read_image_and_depth, read_label_map, write_label_map
    from .ssim import window_size
    from .stack import estimate_bytes, fuse_files

    first, bit_depth = read_image_and_depth(args.sources[0])
    height, width, channels = first.shape
    del first
    window = args.window if args.window is not None else window_size(height, width)
    if window > min(height, width):
        raise CommandError(f"{args.sources[0]}: the image ({width}x{height}) is smaller than the window {window}")
    cache = math.inf
    if args.max_memory is not None:
        parts = estimate_bytes(height, width, channels, bit_depth if bit_depth in (8, 16) else 32)
        need = sum(parts.values())
        if need > args.max_memory:
            detail = ", ".join(f"{name} {value / 2**20:.0f}" for name, value in parts.items())
            raise BudgetError(f"--max-memory {args.max_memory / 2**20:.0f} MB: fusing {len(args.sources)} frames of "
                              f"{width}x{height}x{channels} needs at least {need / 2**20:.0f} MB ({detail} MB)")
        cache = args.max_memory - need
    labels = None
    if args.map is not None:
        labels = read_label_map(args.map, len(args.sources), shape=(height, width))
    if not args.quiet:
        print(f"{output}: {len(args.sources)} frames of {width}x{height}x{channels}, window {window}, "
              f"{args.variant}, band solver", file=sys.stderr)
    result = fuse_files(args.sources, window=window, labels=labels, variant=args.variant, optimizer=args.optimizer,
                        lr=args.lr, iterations=args.iterations, tol=args.tol, keep=args.keep, device=device,
                        tile=args.tile, cache_bytes=cache, progress=not args.quiet)
    depth = result.bit_depth if result.bit_depth in (8, 16) else 16
    image = result.image
    if output.suffix.lower() not in (".png", ".tif", ".tiff"):
        depth = 8
    top, kind = (255, np.uint8) if depth == 8 else (65535, np.uint16)
    data = np.empty(image.shape, kind)
    for a in range(0, image.shape[0], 512):  # rounded in strips: no whole-frame float temporaries
        data[a : a + 512] = np.round(np.clip(image[a : a + 512], 0.0, 1.0) * top)
    writes = [(output, lambda tmp: write_image(tmp, data, depth))]
    if args.save_map is not None:
        writes.append((Path(args.save_map), lambda tmp: write_label_map(tmp, result.labels, len(args.sources))))
    atomic_write_all(writes)
    if not args.quiet:
        s = result.settings
        print(
            f"{output}: Q {result.trace[0]:.6f} -> {result.q:.6f} in {result.iterations} iterations, "
            f"{result.seconds:.1f} s (frames {width}x{height}, K {len(args.sources)}, band {s['band_share']:.1%} of "
            f"the windows, {s['band_tiles']}/{s['tiles']} tiles of {s['tile']}; window {result.window}, "
            f"{result.variant}, {result.optimizer}, {result.device}, {torch.get_num_threads()} threads)",
            file=sys.stderr,
        )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _os_message(error: OSError) -> str:
    """``FILE: reason`` for an OSError that names its file, its own text otherwise."""
    if error.filename is not None and error.strerror:
        return f"{os.fsdecode(error.filename)}: {error.strerror}"
    return _one_line(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mffssim`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # usage errors and --help: return the status instead of exiting
        return stop.code if isinstance(stop.code, int) else EXIT_ERROR
    try:
        if args.command == "fuse":
            run_fuse(args)
    except (CommandError, ValueError) as error:  # ImageError is a ValueError; messages name the file
        print(f"{PROG} {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except BudgetError as error:
        print(f"{PROG} {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:  # writing failed (atomic_write names the file); nothing was changed
        print(f"{PROG} {args.command}: error: {_os_message(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except MemoryError:
        print(f"{PROG} {args.command}: error: out of memory (try smaller images)", file=sys.stderr)
        return EXIT_FAILURE
    except RuntimeError as error:  # torch.OutOfMemoryError: the GPU's memory is too small for the images
        if type(error).__name__ != "OutOfMemoryError":
            raise
        detail = _one_line(error)
        detail = detail[: detail.find(". GPU")] if ". GPU" in detail else detail[:200]  # what, not the ledger
        print(f"{PROG} {args.command}: error: out of GPU memory ({detail}); try --device cpu or smaller images",
              file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
