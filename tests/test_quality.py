"""The ground-truth quality benchmark (rules/quality.smk, mffssim/workflow/quality.py): the aggregation on hand-made
inputs with hand-checked numbers, dry runs of both quality configs, and one tiny real run of the target."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mffssim.fusion import FusionResult
from mffssim.workflow.quality import (
    COLUMNS,
    baseline_of,
    below_baseline,
    fusion_record,
    method_stats,
    pair_table,
    psnr_figure,
    read_pair_table,
    select_methods,
    summary_markdown,
)

# six pairs; PSNR of MFF-SSIM minus pixel-wise: a +1, b -0.5, c -1, d 0, e +2, f +0.25
PSNR = {
    "mffssim_paper-lap": {"a": 31.0, "b": 31.5, "c": 27.0, "d": 35.0, "e": 31.0, "f": 33.25},
    "pixelwise-lap": {"a": 30.0, "b": 32.0, "c": 28.0, "d": 35.0, "e": 29.0, "f": 33.0},
    "average": {"a": 25.0, "b": 26.0, "c": 24.0, "d": 27.0, "e": 26.0, "f": 25.0},
}
ITERATIONS = {"a": 100, "b": 40, "c": 100, "d": 30, "e": 100, "f": 20}


def _metrics_records():
    return [
        {"set": s, "methods": {m: {"psnr": PSNR[m][s], "ssim": 0.9, "fsim": 0.95, "mffssim": 0.8, "qmi": 1.0} for m in PSNR}}
        for s in "abcdef"
    ]


def _fusion_records():
    return {
        (s, "mffssim_paper-lap"): {"iterations": ITERATIONS[s], "stopped_early": ITERATIONS[s] < 100,
                                   "returned_iteration": ITERATIONS[s] - 1, "seconds": float(i + 1),
                                   "q_start": 0.7, "q": 0.8}
        for i, s in enumerate("abcdef")
    }


@pytest.fixture
def table():
    return pair_table(_metrics_records(), _fusion_records())


def test_pair_table_rows_and_columns(table):
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 18 and table[["set", "method"]].drop_duplicates().shape[0] == 18
    row = table[(table["set"] == "b") & (table["method"] == "mffssim_paper-lap")].iloc[0]
    assert (row["psnr"], row["q"], row["iterations"], row["stopped_early"], row["seconds"]) == (31.5, 0.8, 40, True, 2.0)
    assert table[table["method"] == "pixelwise-lap"]["iterations"].isna().all()  # no solver record
    with pytest.raises(ValueError, match="without metrics"):
        pair_table(_metrics_records()[:1], _fusion_records())


def test_summary_numbers_by_hand(table):
    stats = method_stats(table, ["mffssim_paper-lap", "pixelwise-lap", "average"])
    assert list(stats.index) == ["mffssim_paper-lap", "pixelwise-lap", "average"]
    assert stats.loc["mffssim_paper-lap", "psnr_mean"] == pytest.approx(188.75 / 6)
    assert stats.loc["mffssim_paper-lap", "psnr_median"] == pytest.approx(31.25)  # (31 + 31.5) / 2
    assert stats.loc["pixelwise-lap", "psnr_mean"] == pytest.approx(187 / 6)
    assert stats.loc["pixelwise-lap", "psnr_median"] == pytest.approx(31.0)  # (30 + 32) / 2
    assert stats.loc["mffssim_paper-lap", "iterations_mean"] == pytest.approx(65.0)  # 390 / 6
    assert stats.loc["mffssim_paper-lap", "stopped_early"] == 3
    assert stats.loc["mffssim_paper-lap", "seconds_mean"] == pytest.approx(3.5)
    assert math.isnan(stats.loc["average", "iterations_mean"]) and (stats["n"] == 6).all()

    below = below_baseline(table)
    assert list(below) == ["mffssim_paper-lap"]  # average has no baseline; pixelwise is the baseline
    b = below["mffssim_paper-lap"]
    assert b["baseline"] == "pixelwise-lap" and b["n"] == 6
    assert b["pairs"] == [("c", -1.0), ("b", -0.5)]  # d (equal) is not below
    assert b["mean_delta"] == pytest.approx(1.75 / 6)
    assert [s for s, _ in b["worst"]] == ["c", "b", "d", "f", "a"]


def test_select_methods_orders_rows(table):
    chosen = select_methods(table, ["pixelwise-lap", "mffssim_paper-lap"])
    assert list(chosen["method"][:4]) == ["pixelwise-lap", "mffssim_paper-lap"] * 2 and len(chosen) == 12
    assert list(chosen["set"][:2]) == ["a", "a"]


def test_baseline_of():
    assert baseline_of("mffssim_paper_long-lap") == "pixelwise-lap"
    assert baseline_of("mffssim_reference-resnet") == "pixelwise-resnet"
    assert baseline_of("pixelwise-lap") is None and baseline_of("average") is None


def test_summary_markdown(table):
    text = summary_markdown(table, title="toy: 6 pairs")
    assert text.startswith("# toy: 6 pairs")
    assert "| mffssim_paper-lap | 6 | 31.46 |" in text  # mean PSNR 31.458
    assert "| mffssim_paper-lap | pixelwise-lap | 2/6 | -0.750 | -1.000 | 0.292 |" in text
    assert "- mffssim_paper-lap below pixelwise-lap: c (-1.000), b (-0.500)" in text
    assert "| mffssim_paper-lap | c | 27.00 | 28.00 | -1.000 | 0.0000 | 100 | no |" in text
    assert "| 65.0 | 3/6 | 3.50 |" in text
    only_baselines = table[table["method"] != "mffssim_paper-lap"]
    assert "No MFF-SSIM method has its pixel-wise baseline" in summary_markdown(only_baselines, title="t")


def test_files_and_figure(tmp_path):
    metrics_paths, fusion_paths = [], []
    for record in _metrics_records():
        path = tmp_path / record["set"] / "metrics.json"
        path.parent.mkdir()
        path.write_text(json.dumps(record))
        metrics_paths.append(path)
    for (set_id, method), record in _fusion_records().items():
        path = tmp_path / set_id / method / "fusion.json"
        path.parent.mkdir()
        path.write_text(json.dumps(record))
        fusion_paths.append(path)
    table = read_pair_table(metrics_paths, fusion_paths)
    pd.testing.assert_frame_equal(table, pair_table(_metrics_records(), _fusion_records()))
    psnr_figure(table, tmp_path / "psnr.png", title="toy")
    assert (tmp_path / "psnr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        read_pair_table([tmp_path / "bad.json"])


def test_fusion_record_sums_the_steps():
    def result(iterations, stopped, returned, seconds, trace):
        return FusionResult(image=np.zeros((2, 2, 1), np.float32), focus_map=np.zeros((2, 2, 2), np.float32), window=3,
                            trace=np.asarray(trace), iterations=iterations, seconds=seconds, variant="paper",
                            optimizer="adam-cosine", device="cpu", stopped_early=stopped, returned_iteration=returned)

    one = fusion_record([result(3, False, 2, 0.5, [0.1, 0.3, 0.4, 0.35])])
    assert {k: one[k] for k in ("iterations", "stopped_early", "returned_iteration", "seconds", "q_start", "q")} == {
        "iterations": 3, "stopped_early": False, "returned_iteration": 2, "seconds": 0.5, "q_start": 0.1, "q": 0.4}
    two = fusion_record([result(3, False, 2, 0.5, [0.1, 0.3, 0.4, 0.35]), result(1, True, None, 0.25, [0.2, 0.6])])
    assert (two["iterations"], two["stopped_early"], two["returned_iteration"], two["seconds"], two["q_start"], two["q"]) == (
        4, True, 1, 0.75, 0.1, 0.6)
    assert len(two["steps"]) == 2 and json.dumps(two)
    with pytest.raises(ValueError):
        fusion_record([])


# ------------------------------------------------------------------------------------------- the workflow
@pytest.mark.parametrize(
    ("config", "sets"),
    [("quality.yaml", {"nyu_d_100": 100, "mf_voc_subset": 120, "embedded": 8}),
     ("quality_cpu.yaml", {"nyu_d_100": 12, "mf_voc_subset": 12, "embedded": 8})],
)
def test_quality_configs_dry_run(tmp_path, config, sets):
    from helpers import REPO, failure_text, planned_jobs, snakemake

    proc = snakemake(tmp_path, "-n", "quality", configs=(REPO / "config" / config,))
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    total = sum(sets.values())
    assert jobs["quality"] == 1 and jobs["quality_dataset"] == 3 and jobs["download_dataset"] == 2
    assert jobs["fuse_mffssim"] == 2 * total  # paper and reference, Laplacian map
    for rule in ("fuse_mffssim_long", "fuse_pixelwise", "fuse_average", "focus_map", "metrics"):
        assert jobs[rule] == total, rule
    assert "fuse_ms_resnet" not in jobs and "train_detector" not in jobs and "table" not in jobs
    assert "results/nyu_d_100/nyud_017/mffssim_paper_long-lap/fusion.json" in proc.stdout
    for dataset in sets:
        assert f"results/quality/{dataset}/summary.md" in proc.stdout


def test_quality_refuses_metrics_without_psnr(tmp_path):
    from helpers import failure_text, snakemake, write_config

    config = write_config(tmp_path / "q.yaml", {"metrics": {"names": ["qmi"]}})
    proc = snakemake(tmp_path, "-n", "quality", configs=(config,))
    assert proc.returncode != 0, failure_text(proc)
    assert "metrics.names" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_quality_tiny_run(tmp_path):
    """Two small embedded sets, end to end: the CSV's columns, finite values, the solver's record."""
    from helpers import failure_text, snakemake, write_config

    config = write_config(tmp_path / "q.yaml", {
        "sets": {"embedded": ["camera", "horse"]},
        "fusion": {"methods": ["mffssim_paper", "mffssim_paper_long", "pixelwise", "average"], "iterations": 30},
        "metrics": {"names": ["psnr", "ssim", "fsim"]},
        "quality": {"long": {"iterations": 40, "tol": None}},
    })
    proc = snakemake(tmp_path, "quality", configs=(config,), timeout=600)
    assert proc.returncode == 0, failure_text(proc)
    table = pd.read_csv(tmp_path / "results/quality/embedded/pairs.csv")
    assert list(table.columns) == list(COLUMNS)
    assert sorted(table["set"].unique()) == ["camera", "horse"]
    assert set(table["method"]) == {"mffssim_paper-lap", "mffssim_paper_long-lap", "pixelwise-lap", "average"}
    assert np.isfinite(table[["psnr", "ssim", "fsim", "q"]].to_numpy()).all()
    solver = table[table["method"].str.startswith("mffssim_")]
    assert np.isfinite(solver[["iterations", "seconds", "solver_q_start", "solver_q"]].to_numpy()).all()
    long = solver[solver["method"] == "mffssim_paper_long-lap"]
    assert (long["iterations"] == 40).all() and not long["stopped_early"].any()  # tol null: every iteration
    assert (solver["solver_q"] >= solver["solver_q_start"]).all()  # keep=best never falls below the start
    assert "## MFF-SSIM below pixel-wise" in (tmp_path / "results/quality/embedded/summary.md").read_text()
    assert (tmp_path / "results/quality/embedded/psnr.png").stat().st_size > 0
