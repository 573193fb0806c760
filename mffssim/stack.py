"""Stacks of 8-bit frames held as uint8 codes: a quarter of the float32 memory, read one frame at a time.

An 8-bit image as :mod:`mffssim.io` reads it holds only the float32 values ``k / 255`` (``BYTE_VALUES[k]``);
:func:`read_coded_stack` keeps each frame's k (uint8, one byte per value) and never holds more than one frame
in float32. :func:`mffssim.fusion.fuse` takes the :class:`CodedStack` as its sources: the focus map is reduced
frame by frame and the band solver cuts each tile's footprint from the codes, so the float values are exactly
those of the float32 sources. (A plain uint8 array is still refused by ``fuse``, which wants values in [0, 1]:
the wrapper says that the bytes are codes.)
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import ImageError, read_image_and_depth

BYTE_VALUES = np.arange(256, dtype=np.float32) / 255.0  # mffssim.io's float32 of an 8-bit value k


@dataclass(frozen=True)
class CodedStack:
    """K >= 2 sources of 8-bit values as uint8 codes ``(K, H, W, C)``: the float value of k is ``BYTE_VALUES[k]``."""

    codes: np.ndarray

    def __post_init__(self):
        codes = self.codes
        if not (isinstance(codes, np.ndarray) and codes.dtype == np.uint8 and codes.ndim == 4):
            raise ValueError(f"sources: a CodedStack holds uint8 codes (K, H, W, C), got {getattr(codes, 'shape', codes)}")
        if codes.shape[0] < 2:
            raise ValueError(f"sources: multi-focus fusion needs K >= 2 sources, got {codes.shape[0]}")

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    def __len__(self) -> int:
        return self.codes.shape[0]

    def decode(self, frames=slice(None)) -> np.ndarray:
        """float32 values of the frames ``frames`` (an index or slice; default all)."""
        return decode(self.codes[frames])


def decode(codes: np.ndarray) -> np.ndarray:
    """float32 values of uint8 codes (any shape): ``BYTE_VALUES[codes]``."""
    return BYTE_VALUES[codes]


def frames(codes: np.ndarray) -> Iterator[np.ndarray]:
    """The frames of a coded stack (K, H, W, C) as float32, one at a time."""
    for frame in codes:
        yield decode(frame)


def read_coded_stack(paths: Sequence[str | os.PathLike]) -> tuple[CodedStack | None, int]:
    """Read K >= 2 registered 8-bit sources as a :class:`CodedStack` one file at a time; return it and the bit
    depth 8, or ``(None, depth)`` when the first file is not 8-bit (read those with
    :func:`mffssim.io.read_image_set`). The same checks as ``read_image_set``: the error names the odd file."""
    if len(paths) < 2:
        named = ", ".join(str(p) for p in paths) or "no file"
        raise ImageError(f"{named}: multi-focus fusion needs at least two sources, got {len(paths)}")
    first, depth = read_image_and_depth(paths[0])
    if depth != 8:
        return None, depth
    codes = np.empty((len(paths), *first.shape), np.uint8)
    for k, path in enumerate(paths):
        image, image_depth = (first, depth) if k == 0 else read_image_and_depth(path)
        if image.shape[:2] != first.shape[:2]:
            raise ImageError(f"{path}: size {image.shape[1]}x{image.shape[0]} differs from {Path(paths[0])} "
                             f"({first.shape[1]}x{first.shape[0]})")
        if image.shape[2] != first.shape[2]:
            raise ImageError(f"{path}: {image.shape[2]} channel(s) but {Path(paths[0])} has {first.shape[2]}")
        if image_depth != 8:
            raise ImageError(f"{path}: bit depth {image_depth} differs from {Path(paths[0])} (8)")
        np.rint(image * 255.0, out=image)
        codes[k] = image
        del image
    return CodedStack(codes), 8
