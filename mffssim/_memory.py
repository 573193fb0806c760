"""Memory accounting for ``--max-memory``: the process's resident size now and rough needs of the solvers."""
from __future__ import annotations

import os
import resource

MB = 1 << 20


class MemoryBudgetError(MemoryError):
    """The memory budget (``max_memory_mb``) cannot be met; the message says what it would take."""


def resident_bytes() -> int:
    """The process's resident set size now (Linux /proc), else its peak so far (getrusage)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def full_frame_bytes(count: int, channels: int, pixels: int) -> int:
    """An estimate of what the full-frame objective and Adam allocate beyond the sources (bytes).

    Per pixel: the objective's stack of (K+2) C-channel float32 planes, the centred sources it makes,
    float64 integral images and window sums of K+2 maps (about six buffers), about twenty float32 window
    maps, and Adam's five image-sized tensors (measured peaks: 2.4 GB at 4 MP, 11.6 GB at 24 MP, K = 2, C = 3,
    sources and interpreter included).
    """
    per_pixel = 4 * channels * (2 * count + 2) + 8 * 6 * (count + 2) + 4 * 20 + 4 * channels * 5
    return per_pixel * pixels


def band_fixed_bytes(channels: int, pixels: int, moving: int, footprint: int, count: int) -> int:
    """An estimate of what the band solver needs beyond its tile cache (bytes): the fused image, the
    optimiser's state on the ``moving`` pixels (about eight packed tensors), their tile indices, and the work
    buffers and one tile objective being built on a footprint of ``footprint`` pixels with ``count`` sources."""
    return 4 * channels * pixels + 4 * channels * moving * 8 + 24 * moving + footprint * (8 * 12 * (count + 2) + 4 * 40)
