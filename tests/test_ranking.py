"""The ranking against the field (mffssim.workflow.ranking, rules/ranking.smk): ranks checked by hand on a
small synthetic table (ties, missing pairs, QCV lower-better, unranked methods), reading published and own
results (colour for gray, wrong size, unreadable), a published_* row of the workflow equal to
mffssim.metrics.evaluate on that file, bring-your-own end to end, and dry runs of the ranking configs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import REPO, failure_text, planned_jobs, snakemake, write_config
from mffssim import registry
from mffssim.io import ImageError, read_image, read_image_set, write_image
from mffssim.metrics import evaluate
from mffssim.workflow import ranking


def _records(values: dict) -> pd.DataFrame:
    """{(set, method): {metric: value}} -> long table."""
    rows = [(s, m, k, v) for (s, m), metrics in values.items() for k, v in metrics.items()]
    return pd.DataFrame(rows, columns=["set", "method", "metric", "value"])


# ------------------------------------------------------------------------------------------ ranking by hand
def test_ranks_by_hand_with_ties_missing_pairs_and_qcv_lower_better():
    values = {
        # pair p1                                  pair p2                                 pair p3
        ("p1", "a"): {"qmi": 3, "qcv": 10}, ("p2", "a"): {"qmi": 1, "qcv": 30}, ("p3", "a"): {"qmi": 9, "qcv": 1},
        ("p1", "b"): {"qmi": 2, "qcv": 20}, ("p2", "b"): {"qmi": 2, "qcv": 20}, ("p3", "b"): {"qmi": 0, "qcv": 0},
        ("p1", "c"): {"qmi": 1, "qcv": 5},  ("p2", "c"): {"qmi": 1, "qcv": 5},
        ("p1", "d"): {"qmi": 9, "qcv": 0},  # one pair of three: unranked at min_coverage 0.5
    }
    table, info = ranking.rank(_records(values), ["a", "b", "c", "d"], metrics=("qmi", "qcv"), min_coverage=0.5)
    # c lacks p3, so the ranked methods a, b, c are averaged over p1 and p2 only
    assert info["common"] == ["p1", "p2"] and info["dropped"] == {"p3": ["c"]}
    assert list(table.index) == ["a", "b", "c", "d"]  # equal mean ranks keep the given order (stable sort)
    # qmi means: a 2, b 2, c 1 -> a and b tie for ranks 1-2 (1.5 each), c 3
    assert table.loc["a", "qmi"] == 2 and table.loc["b", "qmi"] == 2
    assert table.loc["a", "qmi_rank"] == 1.5 and table.loc["b", "qmi_rank"] == 1.5 and table.loc["c", "qmi_rank"] == 3
    # qcv means (lower is better): a 20, b 20, c 5 -> c 1, a and b 2.5
    assert table.loc["c", "qcv_rank"] == 1 and table.loc["a", "qcv_rank"] == 2.5 and table.loc["b", "qcv_rank"] == 2.5
    assert table.loc["c", "mean_rank"] == 2 and table.loc["a", "mean_rank"] == 2 and table.loc["b", "mean_rank"] == 2
    # a tie in mean rank keeps the given order (stable); d is listed, unranked, over its own pair
    assert list(table["position"][:3]) == [1, 2, 3] and np.isnan(table.loc["d", "position"])
    assert not table.loc["d", "ranked"] and table.loc["d", "n"] == 1 and table.loc["d", "qmi"] == 9
    assert np.isnan(table.loc["d", "qmi_rank"])
    assert (table.loc[["a", "b", "c"], "n"] == 2).all() and table.loc["a", "pairs"] == 3
    text = ranking.ranking_markdown(table, info, "toy")
    assert "Pairs left out because a ranked method lacks them: p3 (c)" in text
    assert "d (1 of 3)" in text


def test_min_coverage_zero_ranks_everyone_over_the_shared_pairs():
    values = {("p1", "a"): {"qg": 0.5}, ("p2", "a"): {"qg": 0.7}, ("p1", "b"): {"qg": 0.6}}
    table, info = ranking.rank(_records(values), metrics=("qg",), min_coverage=0.0)
    assert info["common"] == ["p1"] and list(table.index) == ["b", "a"]
    assert table.loc["a", "qg"] == 0.5 and table.loc["b", "qg_rank"] == 1


def test_rank_chart_and_markdown_are_written(tmp_path):
    rng = np.random.default_rng(0)
    values = {(f"p{i}", m): {k: float(rng.random()) for k in ranking.RANK_METRICS}
              for i in range(3) for m in ("mffssim_paper-lap", "published_cnn", "average")}
    ranking.write_ranking(_records(values), ["mffssim_paper-lap", "published_cnn", "average"], "toy",
                          tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.png", notes=["a note"])
    table = pd.read_csv(tmp_path / "t.csv", index_col="method")
    assert set(table.index) == {"mffssim_paper-lap", "published_cnn", "average"} and "qcv_rank" in table
    assert "*mffssim_paper-lap*" in (tmp_path / "t.md").read_text() and "- a note" in (tmp_path / "t.md").read_text()
    assert read_image(tmp_path / "t.png").shape[0] > 100


# --------------------------------------------------------------------------------------- names and reading
def test_published_ids_fit_the_method_grammar():
    files = registry.published_files(["lytro_01/GFF.jpg", "lytro_01/DCT_Corr.png", "temple/IFCNN.bmp", "README"])
    assert files == {"lytro_01": {"published_gff": "lytro_01/GFF.jpg", "published_dct_corr": "lytro_01/DCT_Corr.png"},
                     "temple": {"published_ifcnn": "temple/IFCNN.bmp"}}
    assert len(registry.PUBLISHED_BY_ID) == 30
    assert all(registry.is_method_id(m) for m in registry.PUBLISHED_BY_ID)
    assert registry.method_ids(["published"]) == tuple(registry.PUBLISHED_BY_ID)
    assert registry.is_method_id("own_mine") and not registry.is_method_id("own_My-Method")
    assert registry.parse_method("own_mine").fuser == "own" and registry.method_label("own_mine") == "mine (own results)"


def test_load_result_colour_for_gray_scores_like_the_toolbox(tmp_path):
    rng = np.random.default_rng(1)
    sources = rng.random((2, 40, 50, 1)).astype(np.float32)
    colour = rng.random((40, 50, 3)).astype(np.float32)
    write_image(tmp_path / "c.png", colour, 8)
    gray, depth, note = ranking.load_result(tmp_path / "c.png", sources.shape)
    assert gray.shape == (40, 50, 1) and depth == 8 and "luminance" in note
    # the toolbox scores a colour image by its rgb2gray luminance: the same numbers
    names = ["qmi", "qg", "qcb", "qcv", "qy"]
    assert evaluate(sources, gray, metrics=names) == evaluate(sources, read_image(tmp_path / "c.png"), metrics=names)


def test_mfifb_convention_keeps_colour_results_and_ranks_twenty_metrics(tmp_path):
    """Under mfifb a colour result of gray sources stays colour (the benchmark scores its first channel) and is
    scored as such; the ranking takes MFIFB's 20 metrics, CE lower-better, and names its convention."""
    from mffssim.metrics import MFIFB_METRICS

    rng = np.random.default_rng(2)
    sources = rng.random((2, 48, 50, 1)).astype(np.float32)
    write_image(tmp_path / "c.png", rng.random((48, 50, 3)).astype(np.float32), 8)
    colour, _, note = ranking.load_result(tmp_path / "c.png", sources.shape, "mfifb")
    assert colour.shape == (48, 50, 3) and "first channel" in note
    focus_map = np.stack([np.ones((48, 50), np.float32), np.zeros((48, 50), np.float32)])
    scored = ranking.score_image(sources, colour, reference=None, names=["sd", "qmi"], focus_map=focus_map, window=3,
                                 variant="paper", convention="mfifb")
    assert scored["sd"] == evaluate(sources, colour[:, :, :1], metrics=["sd"], convention="mfifb")["sd"]
    with pytest.raises(ImageError, match="differs from the sources"):
        ranking.score_image(sources, colour, reference=None, names=["sd"], focus_map=focus_map, window=3, variant="paper")
    values = {(f"p{i}", m): {k: float(rng.random()) for k in MFIFB_METRICS} for i in range(3) for m in ("a", "b")}
    values[("p0", "a")]["ce"], values[("p0", "b")]["ce"] = 0.0, 9.0  # a's mean CE is the lower one: rank 1
    ranking.write_ranking(_records(values), ["a", "b"], "toy", tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.png",
                          convention="mfifb")
    table = pd.read_csv(tmp_path / "t.csv", index_col="method")
    assert all(f"{m}_rank" in table for m in MFIFB_METRICS) and table.loc["a", "ce_rank"] == 1
    text = (tmp_path / "t.md").read_text()
    assert "Metrics convention: `mfifb`" in text and "CE ↓" in text


def test_load_result_names_the_bad_file(tmp_path):
    sources = np.zeros((2, 40, 50, 3), np.float32)
    write_image(tmp_path / "small.png", np.zeros((30, 50, 3), np.float32), 8)
    with pytest.raises(ImageError, match=r"small\.png: size 50x30 differs from the sources' 50x40"):
        ranking.load_result(tmp_path / "small.png", sources.shape)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ImageError, match=r"bad\.png"):
        ranking.load_result(tmp_path / "bad.png", sources.shape)


def test_own_file_layout(tmp_path):
    (tmp_path / "embedded").mkdir()
    (tmp_path / "embedded" / "camera.PNG").write_bytes(b"x")
    assert ranking.own_file(tmp_path, "embedded", "camera").name == "camera.PNG"
    assert ranking.own_file(tmp_path, "embedded", "coins") is None


def test_table1_layout_and_verdict():
    rows = {}
    for s in ("mffw_01", "mffw_02"):
        for method, qmi in (("published_cbf", 0.8), ("published_gff", 0.9), ("mffssim_reference-lap", 1.0)):
            rows[(s, method)] = {"qmi": qmi, "qg": qmi, "qcb": qmi}
    paper = {"CBF": {"qmi": 0.86, "qg": 0.52, "qcb": 0.65}, "GFF": {"qmi": 0.93, "qg": 0.60, "qcb": 0.71},
             "MS-Lap": {"qmi": 1.01, "qg": 0.61, "qcb": 0.73}, "BF": {"qmi": 1.11, "qg": 0.59, "qcb": 0.74}}
    text = ranking.table1_mffw(_records(rows), paper, 13)
    assert "| BF | 1.1100 | 0.5900 | 0.7400 | no public results |" in text
    assert "`official_ms_lap` (the authors' published image (fused from the TIFF mffw2_NN)): not in this run" in text
    assert "paper MS-Lap > GFF > CBF; ours MS-Lap > GFF > CBF (Kendall tau +1.00; the paper's order holds)" in text


# ------------------------------------------------------------------------------------------- the workflow
@pytest.mark.slow
def test_published_row_equals_evaluate_on_the_file(tmp_path, fetch_data):
    """One Lytro pair through the workflow (download from the mirror, per-pair published results, features
    cache): every published_* row equals mffssim.metrics.evaluate run directly on the published file."""
    lytro = fetch_data("lytro")
    from helpers import mirror
    names = ["qmi", "qg", "qcv", "qp"]
    config = write_config(tmp_path / "c.yaml", {
        "datasets": ["lytro"], "sets": {"lytro": ["lytro_01"]}, "fusion": {"methods": ["average", "published"]},
        "metrics": {"names": names}, "download": {"mirror": mirror()}, "ranking": {"datasets": ["lytro"]}})
    proc = snakemake(tmp_path / "wd", "ranking", configs=(config,))
    assert proc.returncode == 0, failure_text(proc)
    record = json.loads((tmp_path / "wd" / "results" / "lytro" / "lytro_01" / "metrics.json").read_text())
    published = sorted(m for m in record["methods"] if m.startswith("published_"))
    assert len(published) == 30
    sources, _ = read_image_set(sorted((lytro / "lytro_01").glob("source_*")))
    results = tmp_path / "wd" / "resources" / "data" / "mfifb_results"  # downloaded by the workflow (one pair)
    for method in ("published_gff", "published_cnn", "published_dct_corr"):
        stem = registry.PUBLISHED_BY_ID[method]
        path = next((results / "lytro_01").glob(f"{stem}.*"))
        direct = evaluate(sources, read_image(path), metrics=names)
        assert {k: record["methods"][method][k] for k in names} == direct, method
    table = pd.read_csv(tmp_path / "wd" / "results" / "ranking" / "lytro.csv", index_col="method")
    assert len(table) == 31 and table["ranked"].all()


@pytest.mark.slow
def test_bring_your_own_end_to_end(tmp_path):
    """A user's folder with one of two sets: own_mine is scored, listed (unranked: too few sets) and its
    missing set reported; with min_coverage 0 it is ranked among the others."""
    from mffssim.datasets import make_embedded_dataset

    data = tmp_path / "data"
    make_embedded_dataset(data, size=48, seed=0)
    sources, _ = read_image_set(sorted((data / "camera").glob("source_*")))
    own = tmp_path / "own" / "embedded"
    own.mkdir(parents=True)
    write_image(own / "camera.png", sources.mean(axis=0), 8)
    config = write_config(tmp_path / "c.yaml", {
        "sets": {"embedded": ["camera", "coins"]}, "fusion": {"methods": ["pixelwise", "average"]},
        "ranking": {"own": {"dir": str(tmp_path / "own"), "name": "mine"}, "min_coverage": 0.0}})
    proc = snakemake(tmp_path / "wd", "ranking", configs=(config,))
    assert proc.returncode == 0, failure_text(proc)
    md = (tmp_path / "wd" / "results" / "ranking" / "embedded.md").read_text()
    assert "own_mine has no image for 1 selected set(s): coins." in md
    table = pd.read_csv(tmp_path / "wd" / "results" / "ranking" / "embedded.csv", index_col="method")
    assert table.loc["own_mine", "ranked"] and table.loc["own_mine", "n"] == 1
    # a wrong-sized image: one error naming the file
    write_image(own / "camera.png", np.zeros((20, 20, 1), np.float32), 8)
    proc = snakemake(tmp_path / "wd", "ranking", configs=(config,))
    assert proc.returncode != 0
    log = (tmp_path / "wd" / "logs" / "fusion" / "embedded" / "camera" / "own_mine.log").read_text()
    assert re.search(r"own_result: error: \S*camera\.png: size 20x20 differs", log), log


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ranking", "ranking_offline", "ranking_mfifb"])
def test_ranking_configs_plan(tmp_path, name):
    proc = snakemake(tmp_path, "ranking", "-n", tiny=False,
                     configs=(REPO / "config" / f"{name}.yaml",))
    assert proc.returncode == 0, failure_text(proc)
    jobs = planned_jobs(proc.stdout)
    pairs = 102 if name == "ranking" else 75  # ranking_mfifb: the offline pairs
    assert jobs["published_metrics"] == pairs and jobs["download_published_pair"] == pairs
    assert jobs["ranking_table"] == 2 and jobs["ranking_table1"] == 1
    assert "train_detector" not in jobs and jobs["detect_resnet"] > 0  # the shipped detector weights


def test_cached_scores_compute_only_what_changed(tmp_path):
    """rule method_metrics' cache: a method is scored again only when its image's bytes or the key change, and
    a damaged cache file is scored again, not trusted."""
    from mffssim.workflow.ranking import cached_scores

    images = {}
    for name, value in (("a", 1), ("b", 2)):
        images[name] = tmp_path / f"{name}.bin"
        images[name].write_bytes(bytes([value]) * 8)
    calls = []

    def score(path):
        calls.append(Path(path).stem)
        return {"x": float(Path(path).read_bytes()[0])}

    def run(key, methods=("a", "b")):
        calls.clear()
        return cached_scores({m: images[m] for m in methods}, score, key, lambda m: tmp_path / m / "metrics.json")

    assert run({"names": ["qmi"]}, ("a",)) == ({"a": {"x": 1.0}}, ["a"])
    assert run({"names": ["qmi"]}) == ({"a": {"x": 1.0}, "b": {"x": 2.0}}, ["b"]) and calls == ["b"]
    images["a"].write_bytes(bytes([5]) * 8)
    assert run({"names": ["qmi"]}) == ({"a": {"x": 5.0}, "b": {"x": 2.0}}, ["a"])
    assert run({"names": ["qg"]})[1] == ["a", "b"]
    (tmp_path / "b" / "metrics.json").write_text("{not json")
    assert run({"names": ["qg"]})[1] == ["b"]
