"""mffssim.workflow.tables: per-set metrics.json files -> methods x metrics table (mean, std, best marked)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mffssim.workflow.tables import best_methods, read_metrics, summarise, table_metrics, to_markdown, write_table


def _write_set(path, set_id, methods):
    path.write_text(json.dumps({"set": set_id, "methods": methods}))
    return path


@pytest.fixture
def records(tmp_path):
    files = [
        _write_set(tmp_path / "a.json", "a", {"ms": {"psnr": 40.0, "qcv": 10.0, "qg": 0.7}, "avg": {"psnr": 30.0, "qcv": 50.0, "qg": 0.4}}),
        _write_set(tmp_path / "b.json", "b", {"ms": {"psnr": 42.0, "qcv": 14.0, "qg": 0.6}, "avg": {"psnr": 31.0, "qcv": 40.0, "qg": 0.5}}),
    ]
    return read_metrics(files)


def test_read_metrics_long_format(records):
    assert list(records.columns) == ["set", "method", "metric", "value"]
    assert len(records) == 12
    row = records[(records["set"] == "b") & (records["method"] == "avg") & (records["metric"] == "qcv")]
    assert row["value"].item() == 40.0


def test_summarise_mean_std_and_order(records):
    table = summarise(records, methods=["avg", "ms"])
    assert list(table.index) == ["avg", "ms"]
    assert table_metrics(table) == ["psnr", "qg", "qcv"]  # canonical order, not file order
    assert table.loc["ms", "n"] == 2
    assert table.loc["ms", "psnr_mean"] == pytest.approx(41.0)
    assert table.loc["ms", "psnr_std"] == pytest.approx(np.std([40.0, 42.0], ddof=1))
    assert table.loc["avg", "qcv_mean"] == pytest.approx(45.0)


def test_best_marks_higher_and_lower_is_better(records):
    table = summarise(records)
    best = best_methods(table)
    assert best == {"psnr": ["ms"], "qg": ["ms"], "qcv": ["ms"]}  # QCV: lower wins
    flipped = records.copy()
    flipped.loc[flipped["metric"] == "qcv", "value"] *= -1  # now avg has the lower QCV
    assert best_methods(summarise(flipped))["qcv"] == ["avg"]


def test_ties_are_all_marked():
    records = pd.DataFrame(
        [("a", "x", "ssim", 0.9), ("a", "y", "ssim", 0.9), ("a", "z", "ssim", 0.5)],
        columns=["set", "method", "metric", "value"],
    )
    assert best_methods(summarise(records))["ssim"] == ["x", "y"]


def test_markdown_bold_best_and_single_set_std(tmp_path):
    records = pd.DataFrame(
        [("a", "ms", "psnr", 40.123), ("a", "avg", "psnr", 30.0)], columns=["set", "method", "metric", "value"]
    )
    text = to_markdown(summarise(records))
    lines = text.strip().splitlines()
    assert lines[0].startswith("| method | n | PSNR (dB) ↑")
    assert "| ms | 1 | **40.12** |" in text  # one set: no std, best in bold
    assert "| avg | 1 | 30.00 |" in text


def test_write_table_csv_and_md(records, tmp_path):
    table = summarise(records, methods=["ms", "avg"])
    write_table(table, tmp_path / "t.csv", tmp_path / "t.md", title="demo")
    csv = pd.read_csv(tmp_path / "t.csv", index_col="method")
    assert list(csv.index) == ["ms", "avg"]
    assert csv.loc["ms", "psnr_mean"] == pytest.approx(41.0)
    assert csv.loc["ms", "best"] == "psnr;qg;qcv"
    assert pd.isna(csv.loc["avg", "best"])
    md = (tmp_path / "t.md").read_text()
    assert md.startswith("# demo\n")
    assert "**41.00 ± 1.41**" in md and "**12.0000 ± 2.8284**" in md


def test_nan_is_shown_not_hidden():
    records = pd.DataFrame(
        [("a", "x", "qg", float("nan")), ("b", "x", "qg", 0.5), ("a", "y", "qg", 0.4), ("b", "y", "qg", 0.4)],
        columns=["set", "method", "metric", "value"],
    )
    table = summarise(records)
    assert np.isnan(table.loc["x", "qg_mean"])
    assert best_methods(table)["qg"] == ["y"]
    assert "| x | 2 | n/a |" in to_markdown(table)


def test_bad_input_names_the_problem(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        read_metrics([bad])
    wrong = _write_set(tmp_path / "wrong.json", "a", {"ms": {"psnr": "high"}})
    with pytest.raises(ValueError, match="wrong.json.*psnr"):
        read_metrics([wrong])
    records = read_metrics([_write_set(tmp_path / "ok.json", "a", {"ms": {"psnr": 1.0}})])
    with pytest.raises(ValueError, match="no metric records for method"):
        summarise(records, methods=["ms", "missing"])
    with pytest.raises(ValueError, match="duplicate record"):
        summarise(pd.concat([records, records]))
    with pytest.raises(ValueError, match="no metric records"):
        summarise(records.iloc[:0])


def test_write_table_states_the_skipped_methods_and_why(records, tmp_path):
    skipped = {"enfuse": "the enfuse program is not on PATH (Debian package enfuse)",
               "official_ms_lap": "no published results for this data set"}
    write_table(summarise(records), tmp_path / "t.csv", tmp_path / "t.md", skipped=skipped)
    md = (tmp_path / "t.md").read_text()
    assert md.endswith("Configured methods not in this table:\n\n"
                       "- `enfuse`: the enfuse program is not on PATH (Debian package enfuse)\n"
                       "- `official_ms_lap`: no published results for this data set\n")
    write_table(summarise(records), tmp_path / "t.csv", tmp_path / "t.md", skipped={})
    assert "not in this table" not in (tmp_path / "t.md").read_text()


def test_sets_of_two_scenes_are_listed_under_the_table(tmp_path):
    """A set's metrics.json carries the same-scene check's warning (rule metrics, from its method records); the
    table lists it under the numbers, and only that set."""
    from mffssim.workflow.ranking import assemble_set_metrics
    from mffssim.workflow.tables import read_scene_warnings

    warning = "x/source_2.png: does not look like the same scene as x/source_1.png (scene score 0.07, below 0.50)"
    common = {"reference": False, "index_map": "lap", "index_variant": "paper", "window": 5}
    paths = []
    for set_id, scene in (("odd", warning), ("fine", None)):
        records = [(f"{m}.json", {**common, "method": m, "values": {"qg": 0.5}, **({"scene": scene} if scene else {})})
                   for m in ("ms", "avg")]
        record = assemble_set_metrics(records, ["ms", "avg"], "folder", set_id)
        assert record.get("scene") == scene
        paths.append(tmp_path / f"{set_id}.json")
        paths[-1].write_text(json.dumps(record))
    scenes = read_scene_warnings(paths)
    assert scenes == {"odd": warning}
    write_table(summarise(read_metrics(paths)), tmp_path / "t.csv", tmp_path / "t.md", scenes=scenes)
    md = (tmp_path / "t.md").read_text()
    assert md.endswith(f"one scene (fused all the same; their rows mean little):\n\n- `odd`: {warning}\n")
    assert "`fine`" not in md and "scene" not in (tmp_path / "t.csv").read_text()
