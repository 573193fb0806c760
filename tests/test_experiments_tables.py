"""The paper's experiments, part A: Table I, agreement with the authors, K > 2, SUMMARY.md (mffssim.workflow.experiments),
on small synthetic inputs; and a dry run of the `experiments` target with config/experiments.yaml."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mffssim.workflow.experiments import agreement, summary, tables
from mffssim.workflow.tables import read_metrics

METHODS = ("mffssim_reference-lap", "mffssim_paper-lap", "pixelwise-lap", "official_ms_lap", "mffssim_reference-resnet",
           "official_ms_resnet")


def _metrics_files(folder, sets, methods=METHODS, reference=False, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for set_id in sets:
        values = {}
        for rank, method in enumerate(methods):
            row = {"qmi": 1.0 - 0.05 * rank + 0.01 * rng.random(), "qg": 0.6 - 0.01 * rank, "qcb": 0.7 - 0.01 * rank,
                   "mffssim": 0.95 - 0.01 * rank}
            if reference:
                row |= {"psnr": 40.0 - rank, "ssim": 0.99 - 0.001 * rank, "fsim": 0.99 - 0.002 * rank}
            values[method] = row
        path = folder / f"{set_id}.json"
        path.write_text(json.dumps({"set": set_id, "methods": values}))
        paths.append(path)
    return paths


def test_table1_paper_layout_and_paper_numbers_beside_ours(tmp_path):
    records = read_metrics(_metrics_files(tmp_path, [f"p{i}" for i in range(3)]))
    summary_ = tables.table1(records, methods=list(METHODS))
    csv, md = tmp_path / "mffw.csv", tmp_path / "mffw.md"
    tables.write_table1(summary_, csv, md, "mffw")
    text = md.read_text()
    # paper's column order: no reference metrics here, NMI before Xydeas before Chen-Blum, then the index
    header = next(line for line in text.splitlines() if line.startswith("| Methods | n |"))
    assert header.index("NMI") < header.index("Xydeas") < header.index("Chen-Blum") < header.index("MFF-SSIM Q")
    assert "PSNR" not in header
    # best in bold, second in italics (the paper underlines)
    assert "| MS-Lap (ours, authors' index) | 3 | **" in text
    assert "| MS-Lap (ours, paper's equations) | 3 | *" in text
    # the paper's rows and the side-by-side comparison, with both pair counts said
    assert "| MS-Lap | 13 | 8.9231 | 35.68 | 0.9860 | 0.9880 | 1.0151 | 0.6082 | 0.7335 |" in text
    assert "paper (n = 13)" in text and "(n = 3)" in text and "over its 13 pairs" in text
    assert "Hossny" in text  # NMI normalisation stated
    table = pd.read_csv(csv, index_col="method")
    assert table.loc["paper:MS-ResNet", "qcb_mean"] == pytest.approx(0.7233)
    assert table.loc["mffssim_reference-lap", "source"] == "ours"
    assert table.loc["pixelwise-lap", "n"] == 3
    comparison = tables.paper_comparison(summary_, tables.PAPER_TABLE1["mffw"])
    lap = comparison[(comparison["paper_method"] == "MS-Lap") & (comparison["metric"] == "qg")].iloc[0]
    assert lap["paper"] == pytest.approx(0.6082)
    assert lap["official_ms_lap"] == pytest.approx(summary_.loc["official_ms_lap", "qg_mean"])


def test_table1_with_reference_and_no_paper_rows(tmp_path):
    methods = ("mffssim_paper-lap", "average")
    records = read_metrics(_metrics_files(tmp_path, ["a", "b"], methods=methods, reference=True))
    text = tables.table1_markdown(tables.table1(records), "embedded")
    header = next(line for line in text.splitlines() if line.startswith("| Methods"))
    assert header.index("PSNR") < header.index("SSIM") < header.index("FSIM") < header.index("NMI")
    assert "paper (n" not in text and "| MS-Lap | 13 |" not in text
    assert "| MS-Lap (ours, paper's equations) | 2 | **40.00** |" in text


def test_map_agreement_and_psnr_of_a_pair():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, (20, 30))
    ours = np.stack([labels == 0, labels == 1]).astype(np.float32)
    theirs = ours.copy()
    theirs[:, :2, :] = theirs[::-1, :2, :]  # 60 of 600 pixels flipped
    assert agreement.map_agreement(ours, ours) == 100.0
    assert agreement.map_agreement(ours, theirs) == pytest.approx(90.0)
    image = rng.integers(0, 256, (20, 30, 3)).astype(np.float32) / 255
    other = image.copy()
    other[0, 0, 0] = (round(other[0, 0, 0] * 255) ^ 1) / 255  # one value off by one level
    record = agreement.pair_agreement("mffw", "x", image, other, ours, theirs)
    assert record["psnr"] == pytest.approx(10 * math.log10(255**2 * 1800))
    assert math.isinf(agreement.pair_agreement("mffw", "x", image, image, ours, ours)["psnr"])
    with pytest.raises(ValueError, match="shape"):
        agreement.pair_agreement("mffw", "x", image, image[:10], ours, ours)


def test_agreement_table_targets_and_markdown(tmp_path):
    records = [
        {"dataset": "mffw", "set": "mffw2_01", "psnr": 78.0, "map_agreement": 100.0},
        {"dataset": "mffw", "set": "mffw2_02", "psnr": 50.0, "map_agreement": 99.0},
        {"dataset": "lytro", "set": "lytro_01", "psnr": 47.0, "map_agreement": 97.0},
        {"dataset": "grayscale", "set": "g_01", "psnr": math.inf, "map_agreement": 100.0},
    ]
    table = agreement.agreement_table(records)
    assert list(table["psnr_ok"]) == [True, False, True, True]
    assert list(table["map_ok"]) == [True, False, None, True]  # Lytro's map agreement has no target
    means = agreement.agreement_means(table).set_index("dataset")
    assert means.loc["mffw", "psnr_mean"] == pytest.approx(64.0) and means.loc["mffw", "psnr_ok"]
    assert means.loc["mffw", "map_mean"] == pytest.approx(99.5) and means.loc["mffw", "map_ok"]
    assert means.loc["grayscale", "psnr_mean"] == 99.0  # identical images count as 99 dB
    paths = [tmp_path / n for n in ("a.csv", "m.csv", "a.md")]
    agreement.write_agreement(table, *paths, settings={"variant": "reference", "iterations": 1000})
    text = paths[2].read_text()
    assert "| mffw | 2 | 64.00 ✓ |" in text and "| mffw | mffw2_02 | 50.00 ✗ below target |" in text
    assert "identical" in text and "1 pair(s) below a target" in text and "iterations 1000" in text
    assert pd.read_csv(paths[0])["set"].tolist() == ["mffw2_01", "mffw2_02", "lytro_01", "g_01"]


def test_multi_source_table_and_figure(tmp_path):
    records = read_metrics(_metrics_files(tmp_path, ["shell", "k3"], methods=("mffssim_reference-lap", "average")))
    records["set"] = records["set"].map({"shell": "mffssim_examples/shell", "k3": "embedded/k3"})
    table = tables.multi_source_table(records, {"mffssim_examples/shell": 3, "embedded/k3": 4})
    assert list(table.columns[:3]) == ["set", "K", "method"] and len(table) == 4
    assert table.loc[table["set"] == "embedded/k3", "K"].tolist() == [4, 4]
    tables.write_multi_source(table, tmp_path / "t.csv", tmp_path / "t.md")
    text = (tmp_path / "t.md").read_text()
    assert "| mffssim_examples/shell | 3 | MS-Lap (ours, authors' index) | **" in text
    with pytest.raises(ValueError, match="source count"):
        tables.multi_source_table(records, {"embedded/k3": 4})
    rng = np.random.default_rng(0)
    sources = rng.random((3, 24, 32, 3)).astype(np.float32)
    focus_map = np.eye(3, dtype=np.float32)[rng.integers(0, 3, (24, 32))].transpose(2, 0, 1)
    tables.multi_source_figure([("shell", sources, focus_map, {"MS-Lap": sources[0]}),
                                ("gray", sources[:, :, :, :1], focus_map, {})], tmp_path / "f.png")
    from mffssim.io import read_image

    assert read_image(tmp_path / "f.png").std() > 0.05


def test_summary_reads_every_output(tmp_path):
    records = read_metrics(_metrics_files(tmp_path, ["p1", "p2"]))
    tables.write_table1(tables.table1(records), tmp_path / "mffw.csv", tmp_path / "mffw.md", "mffw")
    agreement_csv = tmp_path / "agreement.csv"
    agreement.agreement_table([{"dataset": "mffw", "set": "p1", "psnr": 30.0, "map_agreement": 98.0}]).to_csv(agreement_csv, index=False)
    multi = tables.multi_source_table(records.assign(set="mffw/" + records["set"]), {"mffw/p1": 3, "mffw/p2": 3})
    multi_csv = tmp_path / "multi.csv"
    multi.to_csv(multi_csv, index=False)
    study = tmp_path / "robustness.md"
    study.write_text("# Robustness\n\nPSNR at p = 0.1: 40 dB\n")
    facts = {
        "fusion": {"optimizer": "adam-cosine", "lr": None, "iterations": 100, "tol": 1e-6},
        "detector": {"source": "embedded", "width": 16, "blocks": 4, "epochs": 8, "samples_per_epoch": 256},
        "detectors": ["lap", "resnet"],
        "table1_sets": {"mffw": [2, 10]},
        "agreement": {"variant": "reference", "optimizer": "adam", "lr": 1e-3, "iterations": 1000, "tol": None, "dtype": "float32"},
        "agreement_pairs": {"mffw": [1, 10]},
        "multi_source_sets": ["mffw/p1"],
    }
    text = summary.build_summary(table1={"mffw": tmp_path / "mffw.csv"}, agreement=agreement_csv, multi_source=multi_csv,
                                 studies=[study], settings=summary.run_settings(facts),
                                 differences=summary.run_differences(facts))
    assert text.startswith("# The paper's experiments: summary")
    assert "**mffw** (2 pairs" in text and "paper 1.0151" in text and "ours over 2" in text
    assert "| mffw | 1 | 30.00 | ≥ 60 dB | **no** |" in text and "mffw/p1 (30.0 dB" in text
    assert "### Robustness" in text and "40 dB" in text
    assert "mffw 2 of 10" in text and "mffw 1 of 10" in text and "F = 16" in text and "adam-cosine" in text
    assert "13 pairs" in text  # a standing difference
    full = dict(facts, fusion={"optimizer": "adam", "lr": 1e-3, "iterations": 1000, "tol": None},
                detector=dict(facts["detector"], width=128, blocks=8, epochs=50),
                table1_sets={"mffw": [10, 10]}, agreement_pairs={"mffw": [10, 10]})
    assert summary.run_differences(full) == []


@pytest.mark.slow
def test_experiments_target_dry_run(tmp_path):
    """config/experiments.yaml plans Table I per data set, the agreement fusions, K > 2 and the summary."""
    from helpers import REPO, failure_text, planned_jobs, snakemake

    proc = snakemake(tmp_path, "-n", "experiments", configs=(REPO / "config" / "experiments.yaml",))
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["experiment_table1"] == 6
    assert jobs["experiment_agreement_fuse"] == 6 and jobs["experiment_agreement"] == 1
    assert jobs["experiment_multi_source"] == 1 and jobs["experiment_summary"] == 1 and jobs["experiments"] == 1
    # our ResNet and Laplacian maps against the authors' on every published pair (40)
    assert jobs["experiment_detector_agreement"] == 1 and "train_detector" not in jobs  # shipped weights
    assert "results/grayscale/g_07/official_ms_resnet/focus_map.png" in proc.stdout
    assert "results/lytro/lytro_20/maps/resnet.png" in proc.stdout
    out = proc.stdout
    for dataset in ("mffw", "lytro", "grayscale", "embedded", "nyu_d_100", "mf_voc_subset"):
        assert f"results/experiments/table1/{dataset}.md" in out
    # agreement: the authors' settings through params, the main workflow's map and the authors' image as inputs
    assert "results/experiments/agreement/lytro/lytro_02/fused.png" in out
    assert "results/mffw/mffw2_13/official_ms_lap/fused.png" in out
    # K > 2 sets reuse the main workflow (MS-ResNet one pair at a time)
    assert "results/mffssim_examples/shell/mffssim_reference-resnet/fused.png" in out
    assert "results/mffw/mffw3_02/maps/lap.png" in out


def test_table1_and_summary_state_the_skipped_methods(tmp_path):
    records = read_metrics(_metrics_files(tmp_path, ["p0", "p1"], methods=("mffssim_reference-lap", "average")))
    skipped = {"pixelwise-given": "the set has no annotated focus map (1 of 2 sets: p1)"}
    tables.write_table1(tables.table1(records), tmp_path / "mffw.csv", tmp_path / "mffw.md", "mffw", skipped=skipped)
    assert "- `pixelwise-given`: the set has no annotated focus map (1 of 2 sets: p1)\n" in (tmp_path / "mffw.md").read_text()
    text = summary.build_summary(table1={"mffw": tmp_path / "mffw.csv"}, skipped={"mffw": skipped, "lytro": {}})
    assert "Configured methods left out of Table I:\n\n- mffw: `pixelwise-given`: the set has no annotated" in text
    assert "lytro:" not in text
    assert "left out" not in summary.build_summary(table1={"mffw": tmp_path / "mffw.csv"}, skipped={"mffw": {}})


def test_the_method_ids_the_experiments_name_are_registry_ids():
    from mffssim import registry

    named = list(tables.METHOD_NAMES) + list(summary.EXCERPT_METHODS)
    named += [m for methods in tables.PAPER_COUNTERPARTS.values() for m in methods]
    assert [m for m in named if not registry.is_method_id(m)] == []
    assert tables.method_name("mffssim_paper_long-given") == "MFF-SSIM, long run (paper's equations), annotated map"
    assert tables.method_name("not-a-method") == "not-a-method"
