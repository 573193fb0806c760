"""The ``mffssim`` console script.

``mffssim fuse SRC1 SRC2 [SRC...] -o OUT`` fuses K registered sources by maximising the MFF-SSIM index
and writes the fused image at the sources' bit depth. Every input is checked before any work, and an
error prints one line naming the file (or the option) to stderr and exits with status 2, writing nothing;
a failure to write (read-only folder, full disk) prints one line naming the file and exits with status 1,
leaving what was there before untouched (the image and --save-map's map are renamed into place together).
With ``--detector resnet`` the trained network gives the map (the weights shipped with the package, or
``--weights W.pt``: one this project trained, or the authors' ``block8_feat128.pth``); for K > 2 sources the fusion
then goes one pair at a time, ((X1 + X2) + X3) + ..., as the paper's MS-ResNet does.

``mffssim align SRC1 SRC2 [SRC...] -o DIR`` registers a focus stack to its anchor frame (focus breathing,
a hand-held camera: :mod:`mffssim.align`) and writes the aligned frames ``DIR/source_k.<ext>`` and
``DIR/transforms.tsv``; ``mffssim fuse --align`` does the same in memory before fusing. Photos are read
upright (EXIF Orientation), and the fused image keeps the anchor frame's ICC profile and EXIF.
"""
from __future__ import annotations

import argparse
import math
import os
import pickle
import sys
from pathlib import Path
from typing import Callable, Sequence

from .io import (
    IMAGE_EXTENSIONS, atomic_write_all, focus_map_preview, read_focus_map, read_image_set, read_photo_metadata,
    write_focus_map, write_image,
)
from .stack import read_coded_stack

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


def _integer(what: str, accept) -> Callable[[str], int]:
    """An argparse type: an integer that ``accept`` takes, else an error that says ``what`` is expected."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    return parse


_odd_window = _integer("an odd positive integer", lambda v: v >= 1 and v % 2 == 1)
_positive_int = _integer("a non-negative integer", lambda v: v >= 0)
_threads = _integer("a positive integer (CPU threads)", lambda v: v >= 1)


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


_jpeg_quality = _integer("an integer in 1..100", lambda v: 1 <= v <= 100)
_anchor = _integer("a 1-based frame number", lambda v: v >= 1)


def _add_align_options(parser: argparse.ArgumentParser, *, prefix: str) -> None:
    """The registration options shared by ``align`` and ``fuse --align``."""
    from .align import MODELS

    parser.add_argument(f"--{prefix}model", choices=MODELS, default="similarity",
                        help="transform per frame (default: similarity = scale, rotation, shift; homography for tilt)")
    parser.add_argument("--anchor", type=_anchor, metavar="N",
                        help="1-based frame the others are aligned to (default: the middle one)")
    parser.add_argument("--match-brightness", action="store_true",
                        help="also match each frame's brightness and colour (gain and offset per channel) to the anchor")
    parser.add_argument("--no-crop", action="store_true",
                        help="keep the anchor's full frame (default: crop to the area every frame covers)")
    parser.add_argument("--no-chain", action="store_true",
                        help="align every frame directly to the anchor (default: to its neighbour, composed)")


def _add_strict_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true",
                        help="stop with exit status 2, writing nothing, when a frame does not look like the same scene "
                             "as the others (default: a warning; docs/photos.md)")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (no usage block) with exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mffssim`` command (one sub-command: ``fuse``)."""
    from . import __version__
    from .fusion import DETECTORS, INITS, KEEPS, OPTIMIZERS, VARIANTS
    from .kernels import ENGINES

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
    fuse.add_argument("--save-map-preview", metavar="PATH",
                      help="also write a picture of the map for people (PNG; K > 2: one colour per source)")
    fuse.add_argument("--jpeg-quality", type=_jpeg_quality, default=95, metavar="Q",
                      help="quality of a JPEG output, 1-100 (default: 95)")
    fuse.add_argument("--align", action="store_true",
                      help="register the sources to the anchor frame first (focus breathing, hand-held stacks)")
    fuse.add_argument("--save-transforms", metavar="PATH", help="with --align: also write the transforms file")
    _add_strict_option(fuse)
    _add_align_options(fuse, prefix="align-")
    fuse.add_argument("--detector", choices=DETECTORS, default="lap",
                      help="focus detector when no --map is given (default: lap, the Laplacian energy)")
    fuse.add_argument("--weights", metavar="W.pt", help="weights of the ResNet detector (--detector resnet; default: the weights shipped with the package; K > 2 sources are fused one pair at a time)")
    fuse.add_argument("--window", type=_odd_window, metavar="N", help="odd window size (default: the authors' rule)")
    fuse.add_argument("--variant", choices=VARIANTS, default="paper",
                      help="paper (the equations, default) or reference (the authors' code)")
    fuse.add_argument("--optimizer", choices=OPTIMIZERS, default="adam-cosine", help="default: adam-cosine")
    fuse.add_argument("--lr", type=_positive_float, help="learning rate (default: the optimiser's)")
    fuse.add_argument("--iterations", type=_positive_int, metavar="N", help="default: the optimiser's")
    fuse.add_argument("--tol", type=_tol, default=None,
                      help="stop when the best of the latest 10 iterates beats the earlier best by less than this "
                           "(tested from iteration 20); default 'none': every iteration runs")
    fuse.add_argument("--init", choices=INITS, default="pixelwise",
                      help="initial image (default: pixel-wise fusion with the map; mean: the paper's)")
    fuse.add_argument("--keep", choices=KEEPS, default="best",
                      help="best: the iterate with the highest Q (default, never below the start); "
                           "last: the last iterate (the authors' code)")
    fuse.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    fuse.add_argument("--engine", choices=ENGINES, default="auto",
                      help="what evaluates the objective: auto (default: fused on the CPU's full frame, torch on CUDA "
                           "and for the band solver), fused (the numba kernels: CPU, full frame) or torch")
    fuse.add_argument("--threads", type=_threads, default=DEFAULT_THREADS, metavar="N",
                      help=f"CPU threads of torch and of the fused kernels (default: {DEFAULT_THREADS}: on a busy 2-core "
                           "machine two torch threads made a 512x512 fusion 6-15x slower)")
    fuse.add_argument("--max-memory", type=_positive_float, metavar="MIB",
                      help="memory budget of the process in MiB (2**20 bytes); the band solver caches what fits "
                           "and the command stops with exit status 1 before fusing when the estimate exceeds it")
    fuse.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    align = commands.add_parser(
        "align",
        help="register a focus stack to one frame (focus breathing, hand-held shots)",
        description="Register K >= 2 frames of one scene to an anchor frame and write the aligned frames "
                    "DIR/source_k.EXT with their transforms DIR/transforms.tsv (3x3 matrices; docs/photos.md).",
    )
    align.add_argument("sources", nargs="+", metavar="SRC", help="frames (8/16-bit PNG, TIFF, JPEG)")
    align.add_argument("-o", "--output", required=True, metavar="DIR", help="folder of the aligned frames (created)")
    align.add_argument("--ext", choices=("png", "tif", "jpg"), default="png",
                       help="format of the aligned frames (default: png, at the sources' bit depth)")
    align.add_argument("--jpeg-quality", type=_jpeg_quality, default=95, metavar="Q", help="with --ext jpg (default: 95)")
    _add_align_options(align, prefix="")
    _add_strict_option(align)
    align.add_argument("-q", "--quiet", action="store_true", help="no per-frame lines")
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
    extras = [("--save-map-preview", getattr(args, "save_map_preview", None), ".png"),
              ("--save-transforms", getattr(args, "save_transforms", None), None)]
    taken = [output] + ([Path(args.save_map)] if args.save_map is not None else [])
    for option, name, suffix in extras:
        if name is None:
            continue
        path = Path(name)
        if suffix is not None and path.suffix.lower() != suffix:
            raise CommandError(f"{name}: {option} writes a PNG file (use a .png name)")
        if path.exists() and path.is_dir():
            raise CommandError(f"{path}: {option} is a directory")
        _check_writable(path, option)
        for other in taken:
            if _same_file(path, other):
                raise CommandError(f"{path}: {option} names the same file as another output")
        for what, source in inputs:
            if _same_file(path, source):
                raise CommandError(f"{path}: {option} would overwrite {what}")
        taken.append(path)
    if getattr(args, "save_transforms", None) is not None and not args.align:
        raise CommandError("--save-transforms needs --align")


def _resnet_weights(args) -> str:
    """The checked --weights path of --detector resnet: the weights shipped with the package without it."""
    if args.weights is None:
        try:
            from .detector.shipped import shipped_weights

            return str(shipped_weights())
        except (ImportError, FileNotFoundError) as error:
            raise CommandError(f"--detector resnet: no --weights given and {_one_line(error)}") from None
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
    except (OSError, RuntimeError, KeyError, ValueError, pickle.UnpicklingError, EOFError) as error:
        raise CommandError(f"{weights}: cannot be used as detector weights ({type(error).__name__}: {_one_line(error)})") from None


def run_fuse(args: argparse.Namespace) -> None:
    """Check every input, fuse, then write the outputs (the image last but one, the map last)."""
    import torch

    from ._device import resolve_device
    from .fusion import describe_solver, fuse
    from .kernels import set_threads
    from .ssim import window_size

    output = Path(args.output)
    _check_outputs(args)
    set_threads(args.threads)  # for this process: main() is the command
    if len(args.sources) < 2:
        raise CommandError(f"{args.sources[0]}: multi-focus fusion needs at least two sources, got one")
    try:
        device = str(resolve_device(args.device))
    except (ValueError, RuntimeError) as error:  # torch: RuntimeError for a malformed name such as cpu:x
        raise CommandError(f"--device: {_one_line(error)}") from None
    # 8-bit sources for the Laplacian detector are read one at a time into uint8 codes (mffssim/stack.py: a
    # quarter of the memory of float32 frames); others, and --align, take the float frames
    streamable = not args.align and args.map is None and args.detector == "lap"
    coded = read_coded_stack(args.sources)[0] if streamable and len(args.sources) >= 2 else None
    sources, bit_depth = (coded, 8) if coded is not None else read_image_set(args.sources)
    anchor = _anchor_index(args, len(sources))
    alignment = None
    if args.align:
        sources, alignment = _align(args, sources, model=args.align_model)  # checks the registered frames' scene
    else:
        _check_scene(args, sources)
        if args.map is None:
            _warn_if_misregistered(args.sources, sources if coded is None else coded.decode([0, -1]))
    metadata = read_photo_metadata(args.sources[anchor])
    height, width = sources.shape[1:3]
    window = args.window if args.window is not None else window_size(height, width)
    if window > min(height, width):
        raise CommandError(f"{args.sources[0]}: the image ({width}x{height}) is smaller than the window {window}")
    options = dict(window=window, variant=args.variant, optimizer=args.optimizer, lr=args.lr,
                   iterations=args.iterations, tol=args.tol, init=args.init, keep=args.keep,
                   progress=not args.quiet, max_memory_mb=args.max_memory, engine=args.engine)
    if args.map is None and args.detector == "resnet" and len(sources) > 2:
        result = _fuse_sequential(args, sources, device, fuse, options)
    else:
        result = fuse(sources, _focus_map(args, sources, device), device=device, **options)
    depth = bit_depth if bit_depth in (8, 16) else 16
    writes = [(output, lambda tmp: write_image(tmp, result.image, depth, metadata=metadata,
                                               jpeg_quality=args.jpeg_quality))]
    if args.save_map is not None:
        writes.append((Path(args.save_map), lambda tmp: write_focus_map(tmp, result.focus_map)))
    if args.save_map_preview is not None:
        preview = focus_map_preview(result.focus_map)
        writes.append((Path(args.save_map_preview), lambda tmp: write_image(tmp, preview)))
    if args.save_transforms is not None:
        from .align import format_transforms

        text = format_transforms(alignment)
        writes.append((Path(args.save_transforms), lambda tmp: Path(tmp).write_text(text, encoding="utf-8")))
    atomic_write_all(writes)  # all or none
    if not args.quiet:
        if result.solver:
            print(f"{PROG} fuse: {describe_solver(result.solver)}", file=sys.stderr)
        print(
            f"{output}: Q {result.trace[0]:.6f} -> {result.q:.6f} in {result.iterations} iterations, "
            f"{result.seconds:.1f} s (window {result.window}, {result.variant}, {result.optimizer}, {result.device}, "
            f"{torch.get_num_threads()} threads)",
            file=sys.stderr,
        )


def _anchor_index(args, count: int) -> int:
    """The 0-based anchor frame: --anchor, or the middle one."""
    anchor = getattr(args, "anchor", None)
    if anchor is None:
        return (count - 1) // 2
    if anchor > count:
        raise CommandError(f"--anchor: frame {anchor} does not exist, there are {count} sources")
    return anchor - 1


def _align(args, sources, *, model: str):
    """Register ``sources`` to the anchor (a CommandError naming the frame when it fails), check that the
    registered frames show one scene (:func:`_check_scene`); return them (cropped unless --no-crop) and the
    Alignment."""
    from .align import AlignmentError, align_stack, warp_frames

    anchor = _anchor_index(args, len(sources))
    say = None if args.quiet else (lambda line: print(f"{PROG} {args.command}: {line}", file=sys.stderr))
    try:
        alignment = align_stack(sources, anchor=anchor, model=model, chain=not args.no_chain,
                                match_brightness=args.match_brightness, crop=not args.no_crop,
                                names=[str(p) for p in args.sources], log=say)
    except AlignmentError as error:
        raise CommandError(str(error)) from None
    aligned = warp_frames(sources, alignment, crop=not args.no_crop)
    _check_scene(args, aligned)
    x0, y0, w, h = alignment.crop
    height, width = sources.shape[1:3]
    print(f"{PROG} {args.command}: aligned to {args.sources[anchor]} ({model}); "
          + (f"cropped to the common area {w}x{h} at ({x0}, {y0}) of {width}x{height}" if not args.no_crop
             else f"full frame {width}x{height} kept (--no-crop; borders repeat the frames' edges)"),
          file=sys.stderr)
    return aligned, alignment


def _check_scene(args, frames) -> None:
    """The same-scene check (:mod:`mffssim.scene`) of the frames as they will be fused (after --align): a
    warning on stderr naming the odd frame, or with --strict a CommandError (nothing is written)."""
    from .scene import check_scene

    check = check_scene(frames, names=args.sources)
    if check.ok:
        return
    if args.strict:
        raise CommandError(check.message)
    print(f"{PROG} {args.command}: warning: {check.message}; frames of different scenes give a meaningless "
          "result (--strict makes this an error)", file=sys.stderr)


# corners displaced by more than this (pixels) between the first and the last source: a warning
MISREGISTRATION_PX = 1.5


def _warn_if_misregistered(paths, sources) -> None:
    """A cheap check (a coarse similarity fit of the last source to the first) and a warning on stderr."""
    from .align import misregistration

    moved = misregistration(sources)
    if moved == moved and moved > MISREGISTRATION_PX:
        print(f"{PROG} fuse: warning: the sources look misregistered ({paths[-1]} is displaced by about "
              f"{moved:.1f} px from {paths[0]} at the corners); fusing them unaligned ghosts, use --align",
              file=sys.stderr)


def run_align(args: argparse.Namespace) -> None:
    """Check the inputs, register the frames, write DIR/source_k.EXT and DIR/transforms.tsv together."""
    from .align import format_transforms

    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"{folder}: -o must be a folder")
    if len(args.sources) < 2:
        raise CommandError(f"{args.sources[0]}: alignment needs at least two frames, got one")
    targets = [folder / f"source_{k + 1}.{args.ext}" for k in range(len(args.sources))]
    for target in targets:
        _check_writable(target, "-o")
        for source in args.sources:
            if _same_file(target, Path(source)):
                raise CommandError(f"{target}: -o would overwrite a source")
    sources, bit_depth = read_image_set(args.sources)
    aligned, alignment = _align(args, sources, model=args.model)
    alignment.names = [Path(p).name for p in args.sources]
    text = format_transforms(alignment)
    metadata = [read_photo_metadata(p) for p in args.sources]
    depth = bit_depth if bit_depth in (8, 16) else 16

    def frame_writer(k):
        return lambda tmp: write_image(tmp, aligned[k], depth, metadata=metadata[k], jpeg_quality=args.jpeg_quality)

    writes = [(target, frame_writer(k)) for k, target in enumerate(targets)]
    writes.append((folder / "transforms.tsv", lambda tmp: Path(tmp).write_text(text, encoding="utf-8")))
    atomic_write_all(writes)
    if not args.quiet:
        print(f"{PROG} align: wrote {len(targets)} frames and {folder / 'transforms.tsv'}", file=sys.stderr)


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
        elif args.command == "align":
            run_align(args)
    except (CommandError, ValueError) as error:  # ImageError is a ValueError; messages name the file
        print(f"{PROG} {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:  # writing failed (atomic_write names the file); nothing was changed
        print(f"{PROG} {args.command}: error: {_os_message(error)}", file=sys.stderr)
        return EXIT_FAILURE
    except MemoryError as error:
        from ._memory import MemoryBudgetError

        reason = _one_line(error) if isinstance(error, MemoryBudgetError) else "out of memory (try smaller images)"
        print(f"{PROG} {args.command}: error: {reason}", file=sys.stderr)
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
