"""A small content-keyed memo for the metrics' per-image intermediates.

Every no-reference metric compares a fused image with its sources, and most of its work on a source (the
luminance, ``normalize1``, local window statistics, Sobel or Prewitt maps, CSF-filtered contrast, the masked
phase-congruency statistics of QP) does not depend on the fused image. When one process scores many fused
images of one image set (a workflow's per-set metric job, a benchmark), those terms are the same each time.
``memo`` keeps them, keyed by the images' contents (shape, dtype and a SHA-1 of the bytes), so a result is only
reused for identical input and the values are exactly those of a fresh computation.

The memo holds at most ``MEMO_BYTES`` of arrays (least recently used first out). Stored arrays are made
read-only, so a caller cannot change a cached value by accident.

Hashing costs about 1 ms per MB, so an array is hashed once where that is safe: the memo's own results are
known by their key, and so is any read-only array that owns its data (``frozen``) once it has been hashed,
for as long as it lives. Such an array cannot change unless someone sets it writeable again, which nothing
here does (``evaluate`` freezes copies of its inputs, ``PhaseCongruency`` its maps, so the sources' phase
congruency of a set is hashed once, not once per fused image).
"""
from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

# room for the source terms of one 520x520 colour set under the mfifb convention (about 350 MB: three channels)
# with a fused image's own terms, or of several sets under the survey convention (about 110 MB each)
MEMO_BYTES = 768 * 2**20

_entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
_held = [0]  # bytes held now (a list, so the functions below can change it without ``global``)
# the arrays the memo holds, by id: (the array itself, its key), so a stored result passed back in (the
# luminance to normalize1, say) needs no hashing; the array is kept alive here, so its id cannot be reused
_stored: dict[int, tuple[np.ndarray, tuple]] = {}
# keys of frozen arrays hashed before, by id: (a weak reference to the array, its key); an entry goes when
# its array does
_frozen_keys: dict[int, tuple[weakref.ref, tuple]] = {}


def is_frozen(array: np.ndarray) -> bool:
    """True for a read-only array that owns its data: no view of another array's memory, so only flipping
    its own flag back could change it."""
    return not array.flags.writeable and array.flags.owndata


def freeze(array: np.ndarray) -> np.ndarray:
    """``array`` made frozen (``is_frozen``): itself if it is already, else a read-only copy."""
    if is_frozen(array):
        return array
    copy = np.array(array, copy=True)
    copy.flags.writeable = False
    return copy


def fingerprint(array: np.ndarray) -> tuple:
    """A key that is equal for two arrays exactly when their shapes, dtypes and bytes are (up to SHA-1).

    A stored result's key, or a frozen array's key computed before, is looked up instead of hashed."""
    known = _stored.get(id(array))
    if known is not None and known[0] is array:
        return known[1]
    hashed = _frozen_keys.get(id(array))
    if hashed is not None and hashed[0]() is array and is_frozen(array):
        return hashed[1]
    contiguous = np.ascontiguousarray(array)
    key = contiguous.shape, contiguous.dtype.str, hashlib.sha1(memoryview(contiguous).cast("B")).digest()
    if is_frozen(array):
        _remember(array, key)
    return key


def _remember(array: np.ndarray, key: tuple) -> None:
    """Keep a frozen array's key for as long as the array lives."""
    ident = id(array)

    def forget(reference: weakref.ref) -> None:
        if _frozen_keys.get(ident, (None,))[0] is reference:
            del _frozen_keys[ident]

    _frozen_keys[ident] = (weakref.ref(array, forget), key)


def _freeze(value: Any, key: tuple, register: bool) -> int:
    """Make every array in ``value`` (an array, or a tuple of them and numbers) read-only and (``register``)
    known by ``key``, or forget them (not ``register``); their bytes."""
    if isinstance(value, np.ndarray):  # an array already known (a result passed through) keeps its key and
        known = _stored.get(id(value))  # is counted once, by the entry that made it
        if register and known is None:
            value.flags.writeable = False
            _stored[id(value)] = (value, key)
            return value.nbytes
        if not register and known is not None and known[1] == key:
            del _stored[id(value)]
            return value.nbytes
        return 0
    if isinstance(value, tuple):
        return sum(_freeze(item, (*key, k), register) for k, item in enumerate(value))
    return 0


def memo(kind: str, compute: Callable[..., Any], *arrays: np.ndarray) -> Any:
    """``compute(*arrays)``, reused when ``kind`` was computed before for arrays of the same content.

    ``kind`` names the computation and any parameter it depends on (two computations must never share a
    kind). The result (an array, a number, or a tuple of them) must not be changed by the caller.
    """
    key = (kind, *(fingerprint(array) for array in arrays))
    if key in _entries:
        _entries.move_to_end(key)
        return _entries[key][0]
    value = compute(*arrays)
    size = _freeze(value, key, True)
    _entries[key] = (value, size)
    _held[0] += size
    while _held[0] > MEMO_BYTES and len(_entries) > 1:
        old_key, (old, dropped) = _entries.popitem(last=False)
        _freeze(old, old_key, False)
        _held[0] -= dropped
    return value


def clear() -> None:
    """Forget every stored result (tests; a caller that wants its memory back)."""
    _entries.clear()
    _stored.clear()
    _frozen_keys.clear()
    _held[0] = 0
