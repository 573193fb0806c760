"""Ranking against the field: the 30 methods whose fused images the MFIFB benchmark published, our methods
and the baselines, and a user's own fused images, ranked per data set by the no-reference toolbox metrics.

:func:`load_result` reads a published (or a user's) fused image the way the metrics score it; :func:`rank`
turns the long table of :func:`mffssim.workflow.tables.read_metrics` into one row per method (mean per metric
over the pairs every ranked method has, rank per metric, mean rank); :func:`write_ranking` writes the csv,
the markdown and the rank chart; :func:`table1_mffw` lays out the paper's Table I beside our measurement.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from mffssim.io import ImageError, atomic_write, read_image_and_depth, save_figure
from mffssim.metrics.convention import MFIFB_METRICS, check_convention, convention_line
from mffssim.workflow.tables import LOWER_IS_BETTER, METRIC_LABELS

# the extensions of a user's own fused images (config ranking.own: <dir>/<dataset>/<set>.<ext>)
OWN_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
# the no-reference metrics of the fusion toolbox: the ranking's columns (the MFF-SSIM index is left out: it is
# what our method optimises)
RANK_METRICS = ("qmi", "qncie", "qg", "qe", "qy", "qcb", "qcv", "qp")
# under the mfifb convention: the MFIFB benchmark's 20 metrics
RANK_METRICS_BY_CONVENTION = {"survey": RANK_METRICS, "mfifb": MFIFB_METRICS}
# the methods of this project, marked in the tables and the chart
OURS_PREFIXES = ("mffssim_", "official_")


def load_result(path: str | os.PathLike, sources_shape: Sequence[int], convention: str = "survey") -> tuple[np.ndarray, int, str]:
    """A fused image from elsewhere (a published result, a user's file) as the metrics score it.

    Returns ``(image, bit depth, note)``: float32 ``(H, W, C)`` in [0, 1] with the sources' ``C``. A colour
    result of gray sources becomes its luminance by MATLAB's rounded ``rgb2gray``, which is what the fusion
    toolbox scores (so every no-reference metric is unchanged); under the ``mfifb`` convention it stays in
    colour, for the benchmark's rule (its first channel; AG: its luminance). ``note`` says so, else it is empty.
    Raises :class:`mffssim.io.ImageError` naming the file when it is unreadable or of another size or colour.
    """
    from mffssim.metrics._common import gray_255

    height, width, channels = (int(v) for v in sources_shape[-3:])
    image, depth = read_image_and_depth(path)
    note = ""
    if image.shape[:2] != (height, width):
        raise ImageError(f"{path}: size {image.shape[1]}x{image.shape[0]} differs from the sources' {width}x{height}")
    if channels == 1 and image.shape[2] == 3 and check_convention(convention) == "mfifb":
        note = "colour result for gray sources: scored on its first channel (AG: its luminance), as MFIFB's code"
    elif channels == 1 and image.shape[2] == 3:
        # the toolbox's luminance on the 0..255 scale (16-bit input taken as round(x / 257), as every metric does)
        image, depth = (gray_255(image, str(path)) / 255.0).astype(np.float32)[:, :, None], 8
        note = "colour result for gray sources: scored on its luminance (MATLAB rgb2gray, as the toolbox)"
    elif channels == 3 and image.shape[2] == 1:
        raise ImageError(f"{path}: gray image for colour sources")
    return image, depth, note


def own_file(root: str | os.PathLike, dataset: str, set_id: str) -> Path | None:
    """The user's fused image of one set, ``<root>/<dataset>/<set>.<ext>`` (:data:`OWN_EXTENSIONS`), or None."""
    folder = Path(root) / dataset
    for ext in OWN_EXTENSIONS:
        for candidate in (folder / f"{set_id}{ext}", folder / f"{set_id}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


# ----------------------------------------------------------------------------------------------- ranking
def _higher_first(values: pd.Series, metric: str) -> pd.Series:
    """Rank 1 = best; ties share the mean of their ranks (fractional ranking); lower is better for QCV and CE."""
    return (values if metric in LOWER_IS_BETTER else -values).rank(method="average")


def rank(
    records: pd.DataFrame,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] = RANK_METRICS,
    *,
    min_coverage: float = 0.9,
) -> tuple[pd.DataFrame, dict]:
    """Rank methods by the mean of each metric over a common set of pairs.

    ``records``: long table (``set``, ``method``, ``metric``, ``value``). A method has a pair when it has every
    metric of ``metrics`` there. Methods with results on at least ``min_coverage`` of the data set's pairs are
    ranked, over the pairs *all* of them have (so every ranked mean is over the same pairs); the others (e.g.
    a result folder that covers a few sets) are listed unranked, with their means over their own pairs.
    Per metric, rank 1 is the best mean (highest; lowest for QCV and CE); tied means share the mean of their ranks.
    ``mean_rank`` averages a method's ranks over the metrics, and the rows are sorted by it.

    Returns ``(table, info)``: the table indexed by method with columns ``ranked``, ``n`` (pairs averaged),
    ``pairs`` (pairs the method has), per metric ``<metric>`` (mean) and ``<metric>_rank``, then ``mean_rank``
    and ``position`` (1 = best mean rank); ``info`` holds ``pairs`` (all), ``common`` (the ranked pairs) and
    ``dropped`` (pairs left out because a ranked method lacks them: {pair: [methods]}).
    """
    asked = list(metrics)
    metrics = [m for m in asked if m in set(records["metric"])]
    if not metrics:
        raise ValueError(f"no records of the ranking metrics {asked}")
    wide = records[records["metric"].isin(metrics)].pivot_table(index=["method", "set"], columns="metric", values="value", aggfunc="first")
    wide = wide.reindex(columns=metrics).dropna()
    if methods is None:
        methods = list(dict.fromkeys(records["method"]))
    all_pairs = sorted(set(records["set"]))
    have = {m: set(wide.loc[m].index) if m in wide.index.get_level_values(0) else set() for m in methods}
    ranked = [m for m in methods if have[m] and len(have[m]) >= min_coverage * len(all_pairs)]
    common = sorted(set.intersection(*(have[m] for m in ranked))) if ranked else []
    dropped = {p: [m for m in ranked if p not in have[m]] for p in all_pairs if p not in common and any(p in have[m] for m in ranked)}
    rows = []
    for method in methods:
        is_ranked = method in ranked
        pairs = common if is_ranked else sorted(have[method])
        means = wide.loc[method].loc[pairs].mean() if pairs else pd.Series(np.nan, index=metrics)
        rows.append({"method": method, "ranked": is_ranked, "n": len(pairs), "pairs": len(have[method]),
                     **{m: float(means[m]) for m in metrics}})
    table = pd.DataFrame(rows).set_index("method")
    inside = table["ranked"]
    for metric in metrics:
        table[f"{metric}_rank"] = np.nan
        table.loc[inside, f"{metric}_rank"] = _higher_first(table.loc[inside, metric], metric)
    table["mean_rank"] = table[[f"{m}_rank" for m in metrics]].mean(axis=1)
    order = table.assign(_u=~inside).sort_values(["_u", "mean_rank"], kind="stable").index
    table = table.loc[order]
    table["position"] = np.nan
    table.loc[inside[order][inside[order]].index, "position"] = np.arange(1, int(inside.sum()) + 1)
    return table, {"pairs": all_pairs, "common": common, "dropped": dropped, "metrics": metrics}


def is_ours(method: str) -> bool:
    return method.startswith(OURS_PREFIXES)


def _rank_text(value: float) -> str:
    return "–" if not np.isfinite(value) else (f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}")


def ranking_markdown(table: pd.DataFrame, info: Mapping, dataset: str, *, notes: Sequence[str] = (),
                     convention: str = "survey") -> str:
    """The ranking as markdown: one row per method, mean (rank) per metric, the mean rank; the best mean of
    each metric in bold; our methods in italics; then how pairs were chosen and the notes. The title line
    names the metrics' ``convention``."""
    metrics = info["metrics"]
    head = ["#", "method", "n"] + [METRIC_LABELS.get(m, m) + (" ↓" if m in LOWER_IS_BETTER else " ↑") for m in metrics] + ["mean rank"]
    lines = [f"# Ranking on {dataset}", "",
             f"{int(table['ranked'].sum())} methods ranked over {len(info['common'])} of the data set's "
             f"{len(info['pairs'])} pairs; cells are mean (rank). {convention_line(convention)}", "",
             "| " + " | ".join(head) + " |", "|" + "|".join(["---:", "---", "---:"] + ["---:"] * (len(metrics) + 1)) + "|"]
    for method, row in table.iterrows():
        name = f"*{method}*" if is_ours(method) else method
        cells = [_rank_text(row["position"]), name, str(int(row["n"]))]
        for m in metrics:
            text = f"{row[m]:.4f} ({_rank_text(row[f'{m}_rank'])})" if np.isfinite(row[m]) else "–"
            cells.append(f"**{text}**" if row[f"{m}_rank"] == table[f"{m}_rank"].min() else text)
        cells.append(_rank_text(row["mean_rank"]) if not np.isfinite(row["mean_rank"]) else f"{row['mean_rank']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Rank 1 is the best mean of a column (highest; lowest for the columns marked ↓); tied means share the mean of "
              "their ranks; `mean rank` averages a method's ranks over the columns and orders the table. "
              "Our methods in *italics*; the MFF-SSIM index is not a column (it is what MFF-SSIM optimises)."]
    unranked = table[~table["ranked"]]
    pairs_note = ("Missing pairs: a method is ranked when it has results on at least the configured share "
                  "(`ranking.min_coverage`) of the pairs, and all ranked methods are averaged over the pairs every "
                  "one of them has; a missing result is no result, never a zero.")
    lines += ["", pairs_note]
    if info["dropped"]:
        lines.append("Pairs left out because a ranked method lacks them: " + "; ".join(
            f"{p} ({', '.join(ms)})" for p, ms in info["dropped"].items()) + ".")
    if len(unranked):
        lines.append("Not ranked (too few pairs; means over their own pairs, n): " + "; ".join(
            f"{m} ({int(r['pairs'])} of {len(info['pairs'])})" for m, r in unranked.iterrows()) + ".")
    lines += [f"- {note}" for note in notes] if notes else []
    return "\n".join(lines) + "\n"


def rank_chart(table: pd.DataFrame, info: Mapping, path: str | os.PathLike, *, title: str = "") -> None:
    """A heat map of the ranks: ranked methods (rows, best mean rank first) x metrics, the rank written in each
    cell, darker = better; our methods' names in bold. One glance shows who wins which metric."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    metrics = list(info["metrics"])
    shown = table[table["ranked"]]
    ranks = shown[[f"{m}_rank" for m in metrics] + ["mean_rank"]].to_numpy(dtype=float)
    figure, axes = plt.subplots(figsize=(1.0 + 0.75 * (len(metrics) + 1), 1.2 + 0.28 * len(shown)))
    axes.imshow(ranks, cmap="viridis_r", aspect="auto", vmin=1, vmax=max(len(shown), 2))
    for (i, j), value in np.ndenumerate(ranks):
        axes.text(j, i, f"{value:.1f}" if j == len(metrics) else _rank_text(value), ha="center", va="center", fontsize=7,
                  color="white" if value > 0.5 * len(shown) else "black")
    axes.set_xticks(range(len(metrics) + 1), [METRIC_LABELS.get(m, m) for m in metrics] + ["mean rank"], rotation=45, ha="right")
    axes.set_yticks(range(len(shown)), list(shown.index))
    for label in axes.get_yticklabels():
        if is_ours(label.get_text()):
            label.set_fontweight("bold")
    axes.set_title(title or f"ranks over {len(info['common'])} pairs (1 = best)", fontsize=9)
    figure.tight_layout()
    save_figure(figure, path, dpi=100)


def write_ranking(records: pd.DataFrame, methods: Sequence[str], dataset: str, csv_path, md_path, png_path, *,
                  min_coverage: float = 0.9, notes: Sequence[str] = (), convention: str = "survey") -> pd.DataFrame:
    """Rank (:func:`rank`, by the metrics of ``convention``: :data:`RANK_METRICS_BY_CONVENTION`) and write the
    csv, the markdown and the rank chart, atomically; return the table."""
    metrics = RANK_METRICS_BY_CONVENTION[check_convention(convention)]
    table, info = rank(records, methods, metrics, min_coverage=min_coverage)
    atomic_write(csv_path, lambda tmp: table.to_csv(tmp, float_format="%.10g"))
    text = ranking_markdown(table, info, dataset, notes=notes, convention=convention)
    atomic_write(md_path, lambda tmp: Path(tmp).write_text(text))
    rank_chart(table, info, png_path, title=f"{dataset} ({convention} metrics): ranks over {len(info['common'])} pairs (1 = best)")
    return table


# ------------------------------------------------------------------------------------ MFFW, Table I layout
# the paper's Table I rows and our measurement of the same methods on MFIFB's JPEG MFFW pairs (mffw_NN)
TABLE1_ROWS = (
    ("BF", None, "no public results"),
    ("BRW", None, "no public results"),
    ("CBF", "published_cbf", "MFIFB's result"),
    ("GFF", "published_gff", "MFIFB's result"),
    ("CNN", "published_cnn", "MFIFB's result"),
    ("ECNN", "published_ecnn", "MFIFB's result"),
    ("DPRL", "published_dprl", "MFIFB's result"),
    ("MMF-Net", None, "no public results"),
    ("MS-ResNet", "mffssim_reference-resnet", "ours: authors' index, our ResNet detector, default solver"),
    ("MS-ResNet", "official_ms_resnet", "the authors' published image (fused from the TIFF mffw2_NN)"),
    ("MS-Lap", "mffssim_reference-lap", "ours: authors' index, Laplacian detector, default solver"),
    ("MS-Lap", "official_ms_lap", "the authors' published image (fused from the TIFF mffw2_NN)"),
)
TABLE1_METRICS = ("qmi", "qg", "qcb")  # the paper's no-reference columns (NMI, Xydeas, Chen-Blum)


def table1_mffw(records: pd.DataFrame, paper_rows: Mapping[str, Mapping[str, float]], n_paper: int,
                convention: str = "survey") -> str:
    """Markdown: the paper's Table I (its no-reference columns) beside our metrics (under ``convention``) of the
    same methods on the JPEG MFFW pairs, the ranks of the seven measurable methods under each, and whether the
    paper's order holds."""
    sets = sorted(s for s in set(records["set"]) if s.startswith("mffw_"))
    mine = records[records["set"].isin(sets) & records["metric"].isin(TABLE1_METRICS)]
    means = mine.groupby(["method", "metric"])["value"].mean()
    counts = mine.groupby("method")["set"].nunique()
    labels = [METRIC_LABELS.get(m, m) for m in TABLE1_METRICS]
    lines = ["# MFFW: the paper's Table I beside our measurement", "",
             f"Paper: {n_paper} MFFW pairs, its own metric code. Ours: the {len(sets)} MFFW pairs MFIFB published "
             "(JPEG, `mfifb` pairs `mffw_NN`), every method scored against those JPEG sources by our metrics, which "
             "equal MATLAB's toolbox. PSNR, SSIM and FSIM need MFFW's manual fusions, which are not public: left out. "
             + convention_line(convention), "",
             "| method | paper " + " | paper ".join(labels) + " | our row | n | ours " + " | ours ".join(labels) + " |",
             "|---|" + "---:|" * len(labels) + "---|---:|" + "---:|" * len(labels)]
    measured, stand_ins = {}, []
    for name, method, what in TABLE1_ROWS:
        paper = [f"{paper_rows[name][m]:.4f}" if name in paper_rows and m in paper_rows[name] else "–" for m in TABLE1_METRICS]
        have = method is not None and method in counts.index
        ours = [f"{means[(method, m)]:.4f}" if have and (method, m) in means.index else "–" for m in TABLE1_METRICS]
        row_name = f"`{method}` ({what})" if method else what
        if method and not have:
            row_name += ": not in this run"
        lines.append(f"| {name} | " + " | ".join(paper) + f" | {row_name} | {int(counts.get(method, 0)) if method else '–'} | " + " | ".join(ours) + " |")
        if have and name not in measured:  # our run first; the authors' images where our run is missing
            measured[name] = {m: float(means[(method, m)]) for m in TABLE1_METRICS if (method, m) in means.index}
            if method.startswith("official_"):
                stand_ins.append(f"{name}: the authors' images (`{method}`)")
    lines += ["", "## Does the paper's ranking hold?", ""]
    if stand_ins:
        lines += ["Rows measured on the authors' published images, as this run has no run of ours: "
                  + "; ".join(stand_ins) + ". They were fused from the TIFF pairs and are scored against the JPEG "
                  "sources, so they are not strictly comparable with the rows fused from those JPEG sources.", ""]
    names = [n for n in measured if n in paper_rows]
    if len(names) < 2:
        return "\n".join(lines + ["Too few measured rows to compare."]) + "\n"
    for metric, label in zip(TABLE1_METRICS, labels):
        paper_order = sorted(names, key=lambda n: -paper_rows[n][metric])
        our_order = sorted((n for n in names if metric in measured[n]), key=lambda n: -measured[n][metric])
        tau = _kendall_tau(paper_order, our_order)
        verdict = "holds" if paper_order == our_order else ("top method agrees" if paper_order[0] == our_order[0] else "does not hold")
        lines.append(f"- {label}: paper {' > '.join(paper_order)}; ours {' > '.join(our_order)} "
                     f"(Kendall tau {tau:+.2f}; the paper's order {verdict}).")
    ms = [n for n in ("MS-Lap", "MS-ResNet") if n in measured]
    best = {m: max(measured, key=lambda n: measured[n].get(m, -np.inf)) for m in TABLE1_METRICS}
    wins = [f"{METRIC_LABELS.get(m, m)}: {best[m]}" for m in TABLE1_METRICS]
    lines += ["", f"Best of the {len(names)} measurable methods per metric under our metrics — " + "; ".join(wins) + ". "
              + ("MS-Lap or MS-ResNet is best on " + str(sum(best[m] in ms for m in TABLE1_METRICS)) + " of "
                 f"{len(TABLE1_METRICS)} metrics." if ms else "")]
    return "\n".join(lines) + "\n"


def _kendall_tau(a: Sequence[str], b: Sequence[str]) -> float:
    """Kendall's tau between two orders of the same names (those of ``a`` that ``b`` has); NaN below two."""
    from scipy.stats import kendalltau

    common = [x for x in a if x in b]
    if len(common) < 2:
        return float("nan")
    return float(kendalltau(range(len(common)), [b.index(x) for x in common]).statistic)


# ------------------------------------------------------------------------------- per-method metrics (workflow)
def score_image(sources: np.ndarray, fused: np.ndarray, *, reference: np.ndarray | None, names: Sequence[str],
                focus_map: np.ndarray, window: int, variant: str, features=None, convention: str = "survey",
                fmi_thinning: str = "matlab", index=None) -> dict[str, float]:
    """Every metric of one fused image as the workflow's tables hold them: ``mffssim.metrics.evaluate``
    (``names``, empty = all that apply, under ``convention``) plus the MFF-SSIM index under the common
    ``focus_map``. Under ``mfifb`` a colour ``fused`` of gray sources is accepted (:func:`load_result`); its
    MFF-SSIM index is that of its luminance. ``index``: ``mffssim.ssim.mffssim_indexer(sources, focus_map,
    window, variant)``, made once for a job that scores many images of one set (same values, less work)."""
    from mffssim import mffssim_index
    from mffssim.metrics import evaluate
    from mffssim.metrics._common import gray_255

    colour_of_gray = convention == "mfifb" and sources.shape[-1] == 1 and fused.shape == sources.shape[1:3] + (3,)
    if fused.shape != sources.shape[1:] and not colour_of_gray:
        raise ImageError(f"fused image: shape {fused.shape} differs from the sources {sources.shape[1:]}")
    values = evaluate(sources, fused, reference=reference, metrics=list(names) or None, features=features,
                      convention=convention, fmi_thinning=fmi_thinning)
    gray = (gray_255(fused, "fused") / 255.0).astype(np.float32)[:, :, None] if colour_of_gray else fused
    values["mffssim"] = index(gray) if index is not None else mffssim_index(sources, gray, focus_map, window, variant)
    return {name: float(value) for name, value in values.items()}


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cached_scores(fused_paths: Mapping[str, str | os.PathLike], score, key: Mapping,
                  cache_path) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Every method's metrics of one set, each reused from its cache file where nothing it depends on changed.

    ``fused_paths``: method -> its fused image; ``score(path)``: that image's metrics; ``key``: what every
    method's values depend on besides its image (the metric params, a digest of the sources, reference and map);
    ``cache_path(method)``: the method's cache file. A method's cache holds ``key`` plus its image's SHA-256 and
    is used only when both are equal to the current ones, so a per-set job that scores all of a set's methods
    computes only those that are new or whose image or settings changed. Returns the values per method (in
    ``fused_paths`` order) and the methods that were computed.
    """
    import json

    results, computed = {}, []
    for method, path in fused_paths.items():
        method_key = {**key, "fused_sha256": file_sha256(path)}
        cache = Path(cache_path(method))
        try:
            record = json.loads(cache.read_text())
        except (OSError, ValueError):
            record = {}
        if isinstance(record, dict) and record.get("key") == method_key and record.get("method") == method:
            results[method] = record["values"]
            continue
        results[method] = score(path)
        computed.append(method)
        text = json.dumps({"method": method, "key": method_key, "values": results[method]}, indent=1, sort_keys=True)
        atomic_write(cache, lambda tmp, text=text: Path(tmp).write_text(text + "\n"))
    return results, computed


def assemble_set_metrics(records: Sequence[tuple[str, Mapping]], methods: Sequence[str], dataset: str, set_id: str) -> dict:
    """One set's ``metrics.json`` record from its methods' records (``(path, record)``: one method's
    ``{"method", "values", ...}``, or rules method_metrics' and published_metrics' ``{"methods", ...}``), methods in
    ``methods`` order, with the same-scene check's warning of the sources (a record's ``scene``) where any has one. Raises ``ValueError`` naming the file when the records disagree on the set's scoring
    (reference, index map, variant, window) and when a method has no record."""
    results, notes, common, scene = {}, {}, {}, None
    for path, record in records:
        scene = scene or record.get("scene")
        if "method" in record:
            results[record["method"]] = record["values"]
        else:
            results.update(record["methods"])
            notes.update(record.get("notes", {}))
        for key in ("reference", "index_map", "index_variant", "window", "convention"):
            value = record.get(key, "survey") if key == "convention" else record[key]  # older records: survey
            if common.setdefault(key, value) != value:
                raise ValueError(f"{path}: {key} {value!r} differs from the set's {common[key]!r}")
    missing = [m for m in methods if m not in results]
    if missing:
        raise ValueError(f"no metrics for method(s) {missing} among {[p for p, _ in records]}")
    assembled = {"dataset": dataset, "set": set_id, **common, "methods": {m: results[m] for m in methods}}
    if notes:
        assembled["notes"] = notes
    if scene:
        assembled["scene"] = scene
    return assembled


def ranking_notes(set_records: Sequence[Mapping], own: str | None, own_missing: Sequence[str]) -> list[str]:
    """The notes under a ranking: published colour results of gray pairs and how they were scored (by the
    sets' convention), the user's missing sets."""
    colour = sorted(f"{m} on {r['set']}" for r in set_records for m in r.get("notes", {}))
    mfifb = any(r.get("convention") == "mfifb" for r in set_records)
    how = ("on their first channel (AG: their luminance), as MFIFB's code does" if mfifb
           else "on their luminance (MATLAB rgb2gray, as the toolbox does)")
    notes = []
    if colour:
        notes.append(f"{len(colour)} published results are colour images of gray pairs, scored {how}: {', '.join(colour)}.")
    if own and own_missing:
        notes.append(f"{own} has no image for {len(own_missing)} selected set(s): {', '.join(own_missing)}.")
    return notes
