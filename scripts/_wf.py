"""Glue shared by the workflow's scripts: log redirection, the repository on sys.path, reading a set.

Scripts import this first (Snakemake puts scripts/ on sys.path), then only use ``snakemake.input``,
``.params``, ``.output``, ``.wildcards`` and ``.threads``.
"""
from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from typing import Any, NamedTuple

# the repository root, so the rules also run from a checkout that was not pip-installed
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def start(snakemake) -> logging.Logger:
    """Send stderr (warnings, tracebacks, tqdm progress) to the rule's log file; return a logger on it.

    A problem with the data (an unreadable or mismatched image, a failed download, a file that cannot be
    written) ends the job with one line ``<rule>: error: <message naming the file>`` in the log instead of
    a traceback; anything else (a bug) keeps its full traceback.
    """
    log = open(snakemake.log[0], "w", buffering=1)
    sys.stderr = log
    logging.basicConfig(stream=log, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
    sys.excepthook = functools.partial(_one_line_errors, snakemake.rule, sys.excepthook)
    return logging.getLogger(snakemake.rule)


def _expected(error: BaseException) -> bool:
    """Whether an error is about the data or the machine (told in one line), not a bug (traceback)."""
    from mffssim.io import ImageError

    if isinstance(error, (ImageError, MemoryError)):
        return True
    if isinstance(error, OSError):
        return error.filename is not None or error.errno is not None
    download_error = getattr(sys.modules.get("mffssim.datasets.download"), "DownloadError", None)
    return download_error is not None and isinstance(error, download_error)


def _one_line_errors(rule: str, fallback, kind, error, tb) -> None:
    if not _expected(error):
        fallback(kind, error, tb)
        return
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        message = f"{error.filename}: {error.strerror}"
    else:
        message = " ".join(str(error).split()) or type(error).__name__
    print(f"{rule}: error: {message}", file=sys.stderr, flush=True)


def image_set(set_dir: str):
    """The files of the image set in ``set_dir`` (sources in order, optional reference and focus map)."""
    from mffssim.io import ImageError, find_image_sets

    folder = Path(set_dir)
    found = find_image_sets(folder.parent)
    if folder.name not in found:
        raise ImageError(f"{folder}: not an image set (needs source_1.*, source_2.*, ...)")
    return found[folder.name]


class LoadedSet(NamedTuple):
    """One image set read for a job: its files (``.sources``, ``.reference``, ``.focus_map``, paths or None),
    the sources ``(K, H, W, C)`` float32, their bit depth, and the reference image when it was asked for and
    exists (else None)."""

    files: Any
    sources: Any
    bit_depth: int
    reference: Any = None

    @property
    def write_depth(self) -> int:
        """The bit depth to write a fused image at: the sources' (8 or 16), else 16."""
        return self.bit_depth if self.bit_depth in (8, 16) else 16


def load_image_set(set_dir: str, *, reference: bool = False) -> LoadedSet:
    """Find and read the image set in ``set_dir`` (:func:`image_set`, :func:`mffssim.io.read_image_set`);
    with ``reference=True`` also its all-in-focus reference, where it has one."""
    from mffssim.io import read_image, read_image_set

    files = image_set(set_dir)
    sources, bit_depth = read_image_set(files.sources)
    truth = read_image(files.reference) if reference and files.reference is not None else None
    return LoadedSet(files, sources, bit_depth, truth)


def check_scene(snakemake, loaded: "LoadedSet") -> str | None:
    """The same-scene check (:func:`mffssim.scene.check_scene`) of a set read by :func:`load_image_set`, as
    param ``scene_check`` asks: ``skip`` skips it; ``warn`` logs a warning naming the odd frame and its score
    and returns that line (None when the frames look like one scene); ``strict`` raises
    :class:`mffssim.scene.SceneError`, which ends the job with that line."""
    from mffssim.scene import SceneError
    from mffssim.scene import check_scene as score

    if snakemake.params.scene_check == "skip":
        return None
    check = score(loaded.sources, names=[str(p) for p in loaded.files.sources])
    logger = logging.getLogger(snakemake.rule)
    if check.ok:
        logger.info("scene check: one scene (scores %s)", " ".join(f"{s:.2f}" for s in check.scores))
        return None
    if snakemake.params.scene_check == "strict":
        raise SceneError(check.message)
    logger.warning("%s; fused all the same (fusion.scene_check: strict stops here)", check.message)
    return check.message


class SetScorer(NamedTuple):
    """What scoring any fused image of one set needs, read once (rules method_metrics, published_metrics):
    the sources, their reference (or None), the common map's name and window, ``score(fused)``, and the
    same-scene check's warning (None when the sources look like one scene, or param scene_check is skip)."""

    sources: Any
    reference: Any
    index_map: str
    window: int
    score: Any
    scene: str | None = None


def set_scorer(snakemake) -> SetScorer:
    """The :class:`SetScorer` of a metrics job: params set_dir, names, convention, fmi_thinning, index_variant,
    window_ratio, window_cap and scene_check; inputs index_map (the common map) and features (the sources' cached
    features)."""
    from mffssim import read_focus_map, window_size
    from mffssim.metrics import load_features
    from mffssim.ssim import mffssim_indexer
    from mffssim.workflow.ranking import score_image

    params = snakemake.params
    loaded = load_image_set(params.set_dir, reference=True)
    sources, reference = loaded.sources, loaded.reference
    n_sources, height, width = sources.shape[:3]
    focus_map = read_focus_map(snakemake.input.index_map, n_sources, shape=(height, width))
    window = window_size(height, width, ratio=params.window_ratio, cap=params.window_cap)
    features = load_features(snakemake.input.features)
    index = mffssim_indexer(sources, focus_map, window, params.index_variant)  # the sources' terms, once

    def score(fused) -> dict[str, float]:
        return score_image(sources, fused, reference=reference, names=params.names, focus_map=focus_map,
                           window=window, variant=params.index_variant, features=features,
                           convention=params.convention, fmi_thinning=params.fmi_thinning, index=index)

    return SetScorer(sources, reference, Path(snakemake.input.index_map).stem, window, score,
                     check_scene(snakemake, loaded))


def write_trace(path, trace) -> None:
    """Write a Q trace as ``trace.csv`` (columns iteration, q; iteration 0 is the starting image), atomically."""
    import csv

    from mffssim.io import atomic_write

    def _write(tmp):
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["iteration", "q"])
            writer.writerows((i, f"{float(q):.10f}") for i, q in enumerate(trace))

    atomic_write(path, _write)


def write_set_index(root: str, set_ids: list[str], path: str) -> None:
    """Write the index of a data set once it is complete: one line per set id with its files (recursively).

    Fails, naming the folder, when a set's folder is missing or empty.
    """
    from mffssim.io import atomic_write

    lines = ["set_id\tfiles"]
    for set_id in set_ids:
        folder = Path(root) / set_id
        names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
        if not names:
            raise RuntimeError(f"{folder}: image set {set_id!r} was not produced")
        lines.append(f"{set_id}\t{','.join(names)}")
    atomic_write(path, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
