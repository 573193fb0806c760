"""The ablation studies (rules/ablations.smk, mffssim/workflow/experiments/{robustness,window,detector_ablation,speed}.py)
on tiny inputs, and a dry run of their workflow target."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mffssim.datasets import make_embedded_set
from mffssim.workflow.experiments import detector_ablation, report_io, robustness, speed, window

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {"iterations": 20, "device": "cpu"}


@pytest.fixture(scope="module")
def tiny_set():
    """camera, 32 x 32 gray: two sources, the exact map, the reference."""
    return make_embedded_set("camera", size=32)


def _mean(summary, method, p, metric="psnr"):
    return next(r[f"{metric}_mean"] for r in summary if r["method"] == method and r["p"] == p)


def test_robustness_psnr_falls_with_p(tiny_set, tmp_path):
    rows = robustness.robustness_study(tiny_set.sources, tiny_set.focus_map, tiny_set.reference,
                                       probabilities=[0.0, 0.1, 0.5], trials=2, set_id="camera", fuse_options=FAST)
    assert len(rows) == 2 * (1 + 2 + 2)  # p = 0 once, then 2 trials per p, 2 methods
    summary = robustness.summarize(rows)
    for method in robustness.METHODS:
        assert _mean(summary, method, 0.0) > _mean(summary, method, 0.1) > _mean(summary, method, 0.5)
    flipped = [r["flipped"] for r in rows if r["p"] == 0.5]
    assert all(0.3 < f < 0.7 for f in flipped)
    # trials are seeded: the same call gives the same rows
    again = robustness.robustness_study(tiny_set.sources, tiny_set.focus_map, tiny_set.reference,
                                        probabilities=[0.1], trials=1, set_id="camera", fuse_options=FAST)
    assert again[0]["psnr"] == next(r["psnr"] for r in rows if r["p"] == 0.1 and r["trial"] == 0)

    report_io.write_rows(rows, tmp_path / "rows.csv")
    assert report_io.read_rows([tmp_path / "rows.csv"])[0]["set_id"] == "camera"
    robustness.robustness_figure(summary, tmp_path / "robustness.png")
    text = robustness.summary_markdown(summary, {"variant": "paper", "optimizer": "adam-cosine", "iterations": 20, "trials": 2})
    assert "| camera | MFF-SSIM |" in text and "PSNR p=0.1" in text and (tmp_path / "robustness.png").stat().st_size > 0


def test_robustness_without_reference_scores_against_p0(tiny_set):
    rows = robustness.robustness_study(tiny_set.sources, tiny_set.focus_map, None, probabilities=[0.0, 0.2],
                                       trials=1, set_id="real", fuse_options=FAST)
    summary = robustness.summarize(rows)
    assert {r["scored_against"] for r in rows} == {"p0_mffssim"}
    assert math.isinf(_mean(summary, "mffssim", 0.0)) and math.isfinite(_mean(summary, "mffssim", 0.2))
    assert next(r for r in summary if r["method"] == "mffssim" and r["p"] == 0.0)["psnr_inf"] == 1


def test_window_study_widens_the_window(tiny_set, tmp_path):
    rows = window.window_study(tiny_set.sources, tiny_set.reference, ratios=[1e-3, 7e-3], set_id="camera",
                               fuse_options={"iterations": 10, "device": "cpu"})
    assert [(r["window"], r["variant"]) for r in rows] == [(3, "paper"), (3, "reference"), (7, "paper"), (7, "reference")]
    assert all(r["ms_per_iteration"] > 0 and r["cpu_ms_per_iteration"] > 0 and 0 < r["ssim"] <= 1 and r["psnr"] > 20 for r in rows)
    best = window.best_ratios(rows)
    assert {b["metric"] for b in best} == set(window.METRICS)
    window.window_figure(rows, tmp_path / "window.png")
    assert "Best alpha" in window.summary_markdown(rows, {"metrics": window.METRICS, "embedded_size": 32})
    with pytest.raises(ValueError, match="exceeds"):
        window.window_study(tiny_set.sources, ratios=[0.05], set_id="camera", fuse_options=FAST)


def test_fit_power_law_recovers_the_exponent():
    x = np.array([128.0, 256.0, 512.0, 1024.0]) ** 2
    b, c = speed.fit_power_law(x, 0.003 * x**1.0)
    assert b == pytest.approx(1.0) and c == pytest.approx(0.003)
    noisy = 2.5 * x**0.8 * np.array([1.02, 0.98, 1.01, 0.99])
    assert speed.fit_power_law(x, noisy)[0] == pytest.approx(0.8, abs=0.03)
    assert speed.converge_iteration([0.1, 0.5, 0.89995, 0.9], 1e-4) == 2
    with pytest.raises(ValueError):
        speed.fit_power_law([1.0], [2.0])


def test_speed_study_on_tiny_sizes(tmp_path):
    rows = speed.speed_study(sizes=(32, 64), size_window=5, windows=(3, 7), window_image_size=32, variants=("paper",),
                             timed_iterations=1, repeats=1, fuse_options={"iterations": 5, "device": "cpu"})
    assert [(r["kind"], r["pixels"], r["window"]) for r in rows] == [("size", 1024, 5), ("size", 4096, 5),
                                                                     ("window", 1024, 3), ("window", 1024, 7)]
    assert all(r["ms_per_iteration"] > 0 and 0 <= r["converge_iterations"] <= r["run_iterations"] for r in rows)
    assert math.isfinite(speed.slopes(rows)[0]["b: CPU ms/it vs pixels"])
    assert all(r["cpu_ms_per_iteration"] > 0 for r in rows)
    speed.speed_figure(rows, tmp_path / "speed.png")
    text = speed.summary_markdown(rows, {"device": "cpu", "threads": 1, "repeats": 1, "timed_iterations": 2,
                                         "optimizer": "adam-cosine", "iterations": 10, "q_gap": 1e-4})
    assert "Fitted exponents" in text


def test_detector_grid_settings_and_table(tmp_path, monkeypatch):
    assert detector_ablation.ablation_grid([2, 4, 6], [8, 16, 32], 16, 4) == [(8, 4), (16, 2), (16, 4), (16, 6), (32, 4)]
    settings = detector_ablation.variant_settings({"width": 16, "blocks": 4, "epochs": 8, "crop": 16}, 4, 1,
                                                  epochs=1, samples_per_epoch=4)
    assert settings == {"width": 4, "blocks": 1, "epochs": 1, "crop": 16, "samples_per_epoch": 4}
    # training itself is tested with the detector (tests/test_detector*.py); here the study's glue around it
    import mffssim.detector

    calls = []

    def fake_train(config, out_dir, **options):
        calls.append((dict(config), out_dir, options))
        return {"width": config["width"], "blocks": config["blocks"], "epochs": 1, "samples_per_epoch": 4,
                "accuracy": 0.75, "mean_iou": 0.6, "heldout_loss": 0.5, "final_loss": 0.4, "train_seconds": 1.0}

    monkeypatch.setattr(mffssim.detector, "train_and_evaluate", fake_train)
    row = detector_ablation.train_variant(settings, tmp_path / "F4_B1", device="cpu", threads=1)
    assert calls[0][0] == settings and calls[0][2] == {"device": "cpu", "threads": 1, "progress": False}
    assert row["parameters"] == mffssim.detector.count_parameters(mffssim.detector.FocusNet(4, 1))
    rows = [dict(row), dict(row, width=8, accuracy=0.9), dict(row, blocks=2, accuracy=0.8)]
    assert [(r["blocks"], r["width"]) for r in detector_ablation.ablation_table(rows)] == [(1, 4), (1, 8), (2, 4)]
    detector_ablation.ablation_figure(rows, tmp_path / "detector.png", base_width=4, base_blocks=1)
    text = detector_ablation.summary_markdown(rows, {"depths": [1, 2], "widths": [4, 8], "base_width": 4, "base_blocks": 1})
    assert "Best held-out accuracy: F = 8, B = 1" in text and (tmp_path / "detector.png").stat().st_size > 0


@pytest.mark.slow
def test_ablation_targets_dry_run(tmp_path):
    from helpers import failure_text, planned_jobs, snakemake

    proc = snakemake(tmp_path, "-n", "experiments")  # the target `experiments` asks for every study
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["abl_detector_variant"] == 5 and jobs["abl_speed"] == 1
    assert jobs["abl_robustness_set"] == 4 and jobs["abl_window_set"] == 3  # config.yaml's sets
    assert {"abl_robustness", "abl_window", "abl_detector", "abl_speed"} <= set(planned_jobs(proc.stdout + proc.stderr))
