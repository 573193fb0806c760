"""The fused numba engine (mffssim/kernels) against the torch engine (mffssim.ssim.MFFSSIMObjective), its
thread-count independence, and the engine choice of mffssim.fuse (fallback included)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import data, transform

import mffssim
from mffssim import fusion
from mffssim.kernels.objective import FusedObjective
from mffssim.ssim import MFFSSIMObjective

REPO = Path(__file__).resolve().parents[1]
Q_RTOL = 1e-7  # Q, relative
G_RTOL = 1e-5  # dQ/dY, of its largest value


def _photo(height: int, width: int, channels: int) -> np.ndarray:
    """scikit-image's astronaut resized to (C, H, W) in [0, 1]: smooth areas, edges and texture."""
    image = transform.resize(data.astronaut(), (height, width), anti_aliasing=True)
    return (image if channels == 3 else image.mean(2, keepdims=True)).transpose(2, 0, 1)


def _problem(kind: str, k: int, c: int, h: int, w: int, soft: bool, seed: int = 0):
    """Sources (K, C, H, W), a map (K, H, W) and a fused image (C, H, W), float64 numpy arrays."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        sources = rng.random((k, c, h, w))
    else:  # a defocus stack of a photograph: source j blurred outside its own band of columns
        sharp = _photo(h, w, c)
        sources = np.stack([ndimage.gaussian_filter(sharp, (0, 1.0 + j, 1.0 + j)) for j in range(k)])
        for j in range(k):
            sources[j][:, :, j * w // k : (j + 1) * w // k] = sharp[:, :, j * w // k : (j + 1) * w // k]
    if soft:
        weights = rng.random((k, h, w)) + 0.1
        focus_map = weights / weights.sum(0)
    else:
        focus_map = np.eye(k)[rng.integers(0, k, (h, w)) if kind == "random" else
                              np.minimum(np.arange(w) * k // w, k - 1)[None].repeat(h, 0)].transpose(2, 0, 1)
    fused = np.clip(np.einsum("khw,kchw->chw", focus_map, sources) + 0.02 * rng.standard_normal((c, h, w)), 0, 1)
    return sources, focus_map, fused


def _tensors(*arrays, dtype):
    return [torch.from_numpy(np.ascontiguousarray(a)).to(dtype) for a in arrays]


def _evaluate(engine, sources, focus_map, fused, window, variant):
    q, grad = engine(sources, focus_map, window, variant).value_and_grad(fused)
    return float(q), grad.double().numpy()


CASES = [  # (kind, K, C, H, W, window): images only a few pixels larger than W among them
    ("random", 2, 3, 40, 37, 7),
    ("random", 3, 1, 17, 15, 13),
    ("random", 2, 1, 9, 8, 7),
    ("random", 4, 3, 12, 14, 11),
    ("random", 2, 3, 300, 29, 3),  # several strips of rows
    ("photo", 2, 3, 64, 56, 9),
    ("photo", 3, 1, 48, 40, 13),
    ("photo", 2, 3, 30, 27, 25),
]


@pytest.mark.parametrize("variant", ["paper", "reference"])
@pytest.mark.parametrize("soft", [False, True], ids=["one-hot", "soft"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c)))
def test_fused_equals_torch_float64(case, soft, variant):
    kind, k, c, h, w, window = case
    arrays = _tensors(*_problem(kind, k, c, h, w, soft), dtype=torch.float64)
    q_torch, g_torch = _evaluate(MFFSSIMObjective, *arrays, window, variant)
    q_fused, g_fused = _evaluate(FusedObjective, *arrays, window, variant)
    assert abs(q_fused - q_torch) <= Q_RTOL * abs(q_torch)
    assert np.abs(g_fused - g_torch).max() <= G_RTOL * np.abs(g_torch).max()
    objective = FusedObjective(*arrays[:2], window, variant)
    assert float(objective.value(arrays[2])) == pytest.approx(q_fused, rel=1e-12, abs=0)


def _clamped_pixels(sources, focus_map, fused, window) -> np.ndarray:
    """(C, H, W) True where a reference-variant window covering the pixel has float64 SSIM within 1e-5 of
    the clamp at 1, where float32 and float64 may round to opposite sides of it."""
    objective = MFFSSIMObjective(sources, focus_map, window, "reference")
    objective.value(fused)
    ssim = objective._windows._ws["ssim"].numpy()  # pylint: disable=protected-access  # (picks, C, H, W)
    near = (np.abs(ssim - 1.0) < 1e-5).any(0)
    return ndimage.maximum_filter(near, size=(1, window, window), mode="constant")


@pytest.mark.parametrize("variant", ["paper", "reference"])
@pytest.mark.parametrize("case", [CASES[0], CASES[5], CASES[6]], ids=lambda c: "-".join(map(str, c)))
def test_fused_float32(case, variant):
    """float32 images: the fused engine accumulates in float64, so it gives the float64 result of the
    float32 values; against the torch engine in float32, the reference variant's pixels at the clamp are
    left out (the left half of the image is the pixel-wise fusion, SSIM = 1 on its windows)."""
    kind, k, c, h, w, window = case
    sources, focus_map, fused = _problem(kind, k, c, h, w, soft=False)
    fused[:, :, : w // 2] = np.einsum("khw,kchw->chw", focus_map, sources)[:, :, : w // 2]  # SSIM = 1 there
    f32 = _tensors(sources, focus_map, fused, dtype=torch.float32)
    f64 = [t.double() for t in f32]
    q_fused, g_fused = _evaluate(FusedObjective, *f32, window, variant)
    q_64, g_64 = _evaluate(MFFSSIMObjective, *f64, window, variant)
    assert abs(q_fused - q_64) <= Q_RTOL * abs(q_64)
    assert np.abs(g_fused - g_64).max() <= G_RTOL * np.abs(g_64).max()
    q_32, g_32 = _evaluate(MFFSSIMObjective, *f32, window, variant)
    keep = ~_clamped_pixels(*f64, window) if variant == "reference" else np.ones(g_32.shape, bool)
    assert keep.mean() > 0.2
    # torch's float32 Q is rounded to float32 and its SSIM terms are float32 (its gradient is up to 2e-5 of
    # the largest away from float64 here): the fused engine is as close to it as the float64 truth is
    assert abs(q_fused - q_32) <= abs(q_64 - q_32) + Q_RTOL * abs(q_64)
    torch_error = np.abs(g_32 - g_64)[keep].max()
    assert np.abs(g_fused - g_32)[keep].max() <= torch_error + G_RTOL * np.abs(g_64).max()


_THREADS_SCRIPT = """
import hashlib, sys
import numba, numpy as np, torch
from mffssim.kernels import objective
objective.STRIP_ROWS = 8  # many strips on a small image
rng = np.random.default_rng(0)
x = torch.from_numpy(rng.random((3, 3, 61, 23)))
m = torch.from_numpy(rng.random((3, 61, 23)))
m /= m.sum(0)
hard = torch.nn.functional.one_hot(m.argmax(0), 3).permute(2, 0, 1).double()
y = x.mean(0)
for threads in (1, 2, 3):
    numba.set_num_threads(threads)
    digest = hashlib.sha256()
    for variant in ("paper", "reference"):
        for fmap in (m, hard):
            for dtype in (torch.float64, torch.float32):
                q, g = objective.FusedObjective(x.to(dtype), fmap.to(dtype), 5, variant).value_and_grad(y.to(dtype))
                digest.update(np.float64(q).tobytes() + g.numpy().tobytes())
    print(threads, digest.hexdigest())
"""


def test_bit_identical_for_any_thread_count():
    env = {**os.environ, "NUMBA_NUM_THREADS": "3", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env, capture_output=True, text=True,
                         check=True, timeout=600).stdout.split()
    digests = dict(zip(out[::2], out[1::2]))
    assert set(digests) == {"1", "2", "3"}
    assert len(set(digests.values())) == 1


def _fuse_pair():
    sources, focus_map, _ = _problem("photo", 2, 3, 48, 44, soft=False)
    return sources.transpose(0, 2, 3, 1).astype(np.float32), focus_map.astype(np.float32)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("variant", ["paper", "reference"])
def test_fuse_traces_agree(variant, dtype):
    """The first 10 iterations of fuse on either engine, from the mean of the sources. (From the pixel-wise
    start most pixels have a gradient that is zero up to round-off, and Adam turns any nonzero value into a
    step of lr, so there the engines' different round-off, like float32 against float64 on one engine,
    gives different steps: 1e-6 to 1e-3 apart in Q after a few iterations.)"""
    sources, focus_map = _fuse_pair()
    results = {engine: mffssim.fuse(sources, focus_map, window=7, variant=variant, iterations=10, tol=None,
                                    init="mean", device="cpu", dtype=dtype, engine=engine)
               for engine in ("torch", "fused")}
    assert results["fused"].solver["engine"] == "fused" and results["torch"].solver["engine"] == "torch"
    assert np.abs(results["fused"].trace - results["torch"].trace).max() < 1e-6


def test_auto_engine_is_the_default_and_fused_on_cpu():
    sources, focus_map = _fuse_pair()
    result = mffssim.fuse(sources, focus_map, window=7, iterations=2, device="cpu", engine="auto")
    assert (result.solver["engine"], result.solver["engine_reason"]) == ("fused", "auto: CPU")
    default = mffssim.fuse(sources, focus_map, window=7, iterations=2, device="cpu")
    assert (default.solver["engine"], default.solver["engine_reason"]) == ("fused", "auto: CPU")
    asked = mffssim.fuse(sources, focus_map, window=7, iterations=2, device="cpu", engine="torch")
    assert (asked.solver["engine"], asked.solver["engine_reason"]) == ("torch", "asked")
    assert "engine fused (auto: CPU)" in fusion.describe_solver(result.solver)


def test_auto_falls_back_to_torch_when_numba_fails(monkeypatch):
    def broken():
        raise ImportError("No module named 'numba'")

    monkeypatch.setattr(fusion, "fused_objective_class", broken)
    sources, focus_map = _fuse_pair()
    with pytest.warns(RuntimeWarning, match="fused engine cannot run here"):
        result = mffssim.fuse(sources, focus_map, window=7, iterations=2, device="cpu", engine="auto")
    assert result.solver["engine"] == "torch"
    assert "fused failed (ImportError" in result.solver["engine_reason"]
    with pytest.raises(ImportError):
        mffssim.fuse(sources, focus_map, window=7, iterations=2, device="cpu", engine="fused")


def test_engine_argument_errors():
    sources, focus_map = _fuse_pair()
    with pytest.raises(ValueError, match="engine: expected one of"):
        mffssim.fuse(sources, focus_map, window=7, iterations=1, device="cpu", engine="numba")
    with pytest.raises(ValueError, match="band solver runs on the torch engine"):
        mffssim.fuse(sources, focus_map, window=7, iterations=1, device="cpu", engine="fused", solver="band")


def test_fusion_record_keeps_the_engine(tmp_path):
    from mffssim.workflow.quality import fusion_record, write_fusion_record

    sources, focus_map = _fuse_pair()
    result = mffssim.fuse(sources, focus_map, window=7, iterations=1, device="cpu", engine="torch")
    write_fusion_record(tmp_path / "fusion.json", fusion_record([result]))
    record = json.loads((tmp_path / "fusion.json").read_text())
    assert record["engine"] == "torch" and record["steps"][0]["engine"] == "torch"
