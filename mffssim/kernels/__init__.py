"""The fused CPU engine: the MFF-SSIM value Q and its gradient dQ/dY as numba kernels.

:class:`FusedObjective` (``mffssim.kernels.objective``) has the interface of the torch engine's
:class:`mffssim.ssim.MFFSSIMObjective`; the torch engine stays the GPU path and the tests' reference.

numba compiles the kernels on their first use and caches the machine code. Its default cache sits beside
the package, which may be read-only, so unless the user has set ``NUMBA_CACHE_DIR`` it is pointed at
``<mffssim cache>/numba`` (``$MFFSSIM_CACHE``, else ``~/.cache/mffssim``: the download cache,
:func:`mffssim.datasets.cache_dir`) before numba is first imported here. numba writes each cache file
under a temporary name and renames it into place, so processes that compile at once do not corrupt it
(benchmarks/bench_compile.py runs two at once).

Threads: unless the user has set ``NUMBA_THREADING_LAYER``, numba's own ``workqueue`` layer is used. It
comes with every numba wheel (tbb needs a package of its own), and its idle threads sleep: with the
OpenMP layer (numba's choice when tbb is missing) two threads on a busy 2-core machine spent twice the
CPU time of one for no gain in wall time (benchmarks/bench_threads.py, README). The workqueue layer does
not run two parallel kernels at once: call the engine from one Python thread at a time.
"""
from __future__ import annotations

import os

from ..datasets.download import cache_dir

ENGINES = ("auto", "fused", "torch")

__all__ = ["ENGINES", "fused_objective_class", "set_threads"]


def _configure_numba() -> None:
    """The cache folder and threading layer, where the user has not chosen them (read when numba is imported)."""
    if not os.environ.get("NUMBA_CACHE_DIR"):
        os.environ["NUMBA_CACHE_DIR"] = str(cache_dir() / "numba")
    if not os.environ.get("NUMBA_THREADING_LAYER"):
        os.environ["NUMBA_THREADING_LAYER"] = "workqueue"


def fused_objective_class():
    """The :class:`~mffssim.kernels.objective.FusedObjective` class; imports numba (ImportError without it)."""
    _configure_numba()
    from .objective import FusedObjective  # pylint: disable=import-outside-toplevel

    return FusedObjective


def set_threads(threads: int) -> None:
    """Use ``threads`` CPU threads in torch and, when numba is installed, in the fused kernels.

    numba cannot use more threads than it started with (``NUMBA_NUM_THREADS``, by default the CPU count),
    so the count is capped there.
    """
    import torch  # pylint: disable=import-outside-toplevel

    torch.set_num_threads(threads)
    _configure_numba()
    try:
        import numba  # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
