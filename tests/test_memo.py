"""The metrics' content-keyed memo: the sources' terms it keeps give exactly the values of a fresh computation."""
from __future__ import annotations

import numpy as np
import pytest

from mffssim.metrics import METRIC_NAMES, evaluate, source_features
from mffssim.metrics import _memo

NO_REFERENCE = [name for name in METRIC_NAMES if name not in ("psnr", "ssim", "fsim")]


def _scene(seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Two uint8 colour sources and three different fused images of them."""
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, 256, (2, 48, 52, 3), dtype=np.uint8)
    mix = [rng.random((48, 52, 1)) for _ in range(3)]
    fused = [np.round(w * sources[0] + (1 - w) * sources[1]).astype(np.uint8) for w in mix]
    return sources, fused


@pytest.mark.parametrize("convention", ["survey", "mfifb"])
def test_values_with_a_warm_memo_equal_fresh_ones(convention: str) -> None:
    """Scoring several fused images of one set one after the other (the sources' terms then come from the
    memo) gives the same values, to the last bit, as scoring each with an empty memo."""
    sources, fused = _scene(1)
    features = source_features(sources, convention=convention)
    warm = [evaluate(sources, f, metrics=NO_REFERENCE, convention=convention, features=features) for f in fused]
    fresh = []
    for f in fused:
        _memo.clear()
        fresh.append(evaluate(sources, f, metrics=NO_REFERENCE, convention=convention, features=features))
    assert warm == fresh


def test_memo_tells_contents_apart_and_its_results_are_read_only(monkeypatch) -> None:
    """Equal contents share one result (even from another array object); different contents do not; a
    stored array cannot be written; the memo stays under its byte budget."""
    _memo.clear()
    calls = []

    def double(x: np.ndarray) -> np.ndarray:
        calls.append(1)
        return 2 * x

    x = np.arange(12.0).reshape(3, 4)
    first = _memo.memo("double", double, x)
    assert _memo.memo("double", double, x.copy()) is first and len(calls) == 1
    changed = x.copy()
    changed[0, 0] = 99.0
    assert _memo.memo("double", double, changed)[0, 0] == 198.0 and len(calls) == 2
    assert _memo.memo("double", double, x.astype(np.float32)) is not first  # dtype is part of the key
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0] = 1.0
    monkeypatch.setattr(_memo, "MEMO_BYTES", 10_000)
    big = np.zeros(_memo.MEMO_BYTES // 8 // 2 + 1)  # two results of this size do not fit together
    _memo.memo("double", double, big)
    _memo.memo("double", double, big + 1)
    assert _memo._held[0] <= _memo.MEMO_BYTES and len(_memo._entries) == 1
    _memo.clear()
