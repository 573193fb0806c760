"""The ground-truth quality benchmark (workflow target ``quality``): how far each method's fused image is
from the all-in-focus reference, pair by pair, and where MFF-SSIM optimisation falls below the pixel-wise
fusion it starts from.

The workflow writes, per image set, ``metrics.json`` (every method's metrics, rules/metrics.smk) and, per
MFF-SSIM fusion, ``fusion.json`` (the solver's record, :func:`fusion_record`). :func:`read_pair_table`
joins them into one row per (set, method) (:data:`COLUMNS`); :func:`summarise` and
:func:`summary_markdown` give the means, medians, the pairs below pixel-wise and the worst pairs;
:func:`psnr_figure` plots each MFF-SSIM method's PSNR against pixel-wise PSNR, pair by pair.

Example
-------
>>> import pandas as pd
>>> table = pd.DataFrame({"set": ["a", "a"], "method": ["mffssim_paper-lap", "pixelwise-lap"], "psnr": [30.0, 31.0]})
>>> below_baseline(table)["mffssim_paper-lap"]["pairs"]
[('a', -1.0)]
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mffssim import registry
from mffssim.io import atomic_write, save_figure
from mffssim.workflow.formatting import format_number

# one row per (set, method): metrics against the reference, the common index Q, the solver's record
METRICS = ("psnr", "ssim", "fsim", "q")
SOLVER = ("iterations", "stopped_early", "returned_iteration", "seconds", "solver_q_start", "solver_q")
COLUMNS = ("set", "method") + METRICS + SOLVER
LABELS = {"psnr": "PSNR (dB)", "ssim": "SSIM", "fsim": "FSIM", "q": "Q"}
BASELINE = "pixelwise"
WORST = 5


# ------------------------------------------------------------------------------------------ solver record
def fusion_record(results: Sequence) -> dict:
    """The ``fusion.json`` record of one fused image from the :class:`mffssim.fusion.FusionResult` of each
    solver run that made it (one, or one per step of a sequential K > 2 fusion).

    Keys: ``iterations`` (steps taken, summed over the runs), ``stopped_early`` (any run stopped by ``tol``),
    ``returned_iteration`` (of the last run), ``seconds`` (solver wall time, summed), ``q_start`` (Q of the
    first run's start), ``q`` (Q of the last run's returned image), ``engine`` (what evaluated Q in the last
    run: "fused" or "torch", None when not recorded), and ``steps``: the same per run.
    Q here is the solver's own objective (its variant, its map).
    """
    if not results:
        raise ValueError("fusion_record needs at least one FusionResult")
    steps = [
        {
            "iterations": int(r.iterations),
            "stopped_early": bool(r.stopped_early),
            "returned_iteration": int(len(r.trace) - 1 if r.returned_iteration is None else r.returned_iteration),
            "seconds": float(r.seconds),
            "q_start": float(r.trace[0]),
            "q": float(r.q),
            "engine": (r.solver or {}).get("engine"),
        }
        for r in results
    ]
    return {
        "iterations": sum(s["iterations"] for s in steps),
        "stopped_early": any(s["stopped_early"] for s in steps),
        "returned_iteration": steps[-1]["returned_iteration"],
        "seconds": sum(s["seconds"] for s in steps),
        "q_start": steps[0]["q_start"],
        "q": steps[-1]["q"],
        "engine": steps[-1]["engine"],
        "steps": steps,
    }


def write_fusion_record(path: str | os.PathLike, record: Mapping) -> None:
    """Write a :func:`fusion_record` as JSON, atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(dict(record), indent=1, sort_keys=True) + "\n"))


# ------------------------------------------------------------------------------------------- pair table
def pair_table(metrics: Iterable[Mapping], fusion: Mapping[tuple[str, str], Mapping] | None = None) -> pd.DataFrame:
    """One row per (set, method) with :data:`COLUMNS`.

    ``metrics``: per-set records as in ``metrics.json`` (``{"set": id, "methods": {method: {metric: value}}}``;
    ``mffssim`` becomes column ``q``). ``fusion``: ``{(set, method): fusion_record}`` for the methods that
    ran the solver; the others get empty solver columns. A metric a record lacks is NaN.
    """
    fusion = dict(fusion or {})
    rows = []
    for record in metrics:
        if not isinstance(record, Mapping) or not {"set", "methods"} <= set(record):
            raise ValueError(f"a metrics record needs keys 'set' and 'methods', got {record!r:.80}")
        set_id = str(record["set"])
        for method, values in record["methods"].items():
            solver = fusion.pop((set_id, method), None)
            row = {"set": set_id, "method": str(method)}
            row.update({m: float(values.get("mffssim" if m == "q" else m, math.nan)) for m in METRICS})
            if solver is None:
                row.update({c: None for c in SOLVER})
            else:
                row.update(
                    iterations=int(solver["iterations"]),
                    stopped_early=bool(solver["stopped_early"]),
                    returned_iteration=int(solver["returned_iteration"]),
                    seconds=float(solver["seconds"]),
                    solver_q_start=float(solver["q_start"]),
                    solver_q=float(solver["q"]),
                )
            rows.append(row)
    if fusion:
        raise ValueError(f"solver records without metrics: {sorted(fusion)[:5]}")
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if table.duplicated(["set", "method"]).any():
        first = table[table.duplicated(["set", "method"])].iloc[0]
        raise ValueError(f"duplicate row for set {first['set']!r}, method {first['method']!r}")
    return table


def read_pair_table(metrics_paths: Iterable[str | os.PathLike], fusion_paths: Iterable[str | os.PathLike] = ()) -> pd.DataFrame:
    """:func:`pair_table` of ``metrics.json`` files and ``<set>/<method>/fusion.json`` files (the set and
    method are read from the path). Raises ``ValueError`` naming a file that cannot be read."""
    def load(path):
        try:
            return json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: cannot read ({error})") from None

    fusion = {(Path(p).parent.parent.name, Path(p).parent.name): load(p) for p in fusion_paths}
    return pair_table([load(p) for p in metrics_paths], fusion)


def select_methods(table: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """The rows of ``methods`` only, ordered by set, then by ``methods`` (so summaries and figures list the
    methods in that order)."""
    order = {m: i for i, m in enumerate(methods)}
    rows = table[table["method"].isin(order)].copy()
    rows["_order"] = rows["method"].map(order)
    return rows.sort_values(["set", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)


def write_pair_table(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the pair table as CSV (empty cells where a method has no solver record), atomically."""
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False, float_format="%.10g"))


# --------------------------------------------------------------------------------------------- summaries
def baseline_of(method: str, baseline: str = BASELINE) -> str | None:
    """The baseline an MFF-SSIM method is compared with: ``pixelwise-<detector>`` for
    ``mffssim_*-<detector>``; None for any other method (or an id the registry does not know)."""
    if not registry.is_method_id(method):
        return None
    parsed = registry.parse_method(method)
    if not parsed.fuser.startswith("mffssim_") or parsed.detector is None:
        return None
    return f"{baseline}-{parsed.detector}"


def method_stats(table: pd.DataFrame, methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Per method (rows in ``methods`` order, else first appearance): ``n`` and the mean and median of each
    metric, then the solver's mean iterations, pairs stopped early and mean seconds (NaN without a solver)."""
    methods = list(methods) if methods is not None else list(dict.fromkeys(table["method"]))
    stats = pd.DataFrame(index=pd.Index(methods, name="method"))
    grouped = table.groupby("method", sort=False)
    stats["n"] = grouped["set"].nunique().reindex(methods).fillna(0).astype(int)
    for metric in METRICS:
        values = grouped[metric].agg(["mean", "median"]).reindex(methods)
        stats[f"{metric}_mean"], stats[f"{metric}_median"] = values["mean"], values["median"]
    solver = table[table["iterations"].notna()]
    by = solver.groupby("method", sort=False)
    stats["iterations_mean"] = by["iterations"].agg(lambda v: float(np.mean(v.astype(float)))).reindex(methods)
    stats["stopped_early"] = by["stopped_early"].agg(lambda v: int(sum(bool(x) for x in v))).reindex(methods)
    stats["seconds_mean"] = by["seconds"].agg(lambda v: float(np.mean(v.astype(float)))).reindex(methods)
    return stats


def below_baseline(table: pd.DataFrame, metric: str = "psnr", *, baseline: str = BASELINE) -> dict[str, dict]:
    """For each MFF-SSIM method with its baseline in the table: the pairs where ``metric`` falls below the
    baseline's on the same set.

    Returns ``{method: {"baseline", "n" (sets with both), "pairs" [(set, delta)] with delta < 0, worst
    first, "mean_delta" (over all n sets), "worst" [(set, delta)] the WORST lowest deltas, negative or not}}``;
    delta = method - baseline.
    """
    wide = table.pivot(index="set", columns="method", values=metric)
    result = {}
    for method in dict.fromkeys(table["method"]):
        base = baseline_of(method, baseline)
        if base is None or base not in wide.columns:
            continue
        delta = (wide[method] - wide[base]).dropna().sort_values(kind="stable")
        result[method] = {
            "baseline": base,
            "n": int(delta.size),
            "pairs": [(str(s), float(d)) for s, d in delta.items() if d < 0],
            "mean_delta": float(delta.mean()) if delta.size else math.nan,
            "worst": [(str(s), float(d)) for s, d in delta.head(WORST).items()],
        }
    return result


def summary_markdown(table: pd.DataFrame, *, title: str, methods: Sequence[str] | None = None,
                     listed: int = 30) -> str:
    """The markdown summary of a data set: per method mean and median of PSNR, SSIM, FSIM and Q and the
    solver's effort; per MFF-SSIM method the pairs below pixel-wise PSNR (count, by how much, the first
    ``listed`` of them) and the five pairs furthest below (or least above) pixel-wise."""
    stats = method_stats(table, methods)
    lines = [f"# {title}", ""]
    header = ["method", "n"] + [f"{LABELS[m]} mean" for m in METRICS] + [f"{LABELS[m]} median" for m in METRICS]
    header += ["iterations (mean)", "stopped early", "seconds (mean)"]
    lines += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    digits = {"psnr": 2, "ssim": 4, "fsim": 4, "q": 4}
    for method, row in stats.iterrows():
        cells = [method, str(int(row["n"]))]
        cells += [format_number(row[f"{m}_mean"], digits[m]) for m in METRICS]
        cells += [format_number(row[f"{m}_median"], digits[m]) for m in METRICS]
        solver = np.isfinite(row["iterations_mean"])
        cells += [format_number(row["iterations_mean"], 1) if solver else "", f"{int(row['stopped_early'])}/{int(row['n'])}" if solver else "",
                  format_number(row["seconds_mean"], 2) if solver else ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    below = below_baseline(table)
    lines += ["## MFF-SSIM below pixel-wise (PSNR)", ""]
    if not below:
        lines += ["No MFF-SSIM method has its pixel-wise baseline (same map) in this run.", ""]
    else:
        lines += ["| method | baseline | pairs below | mean Δ over them (dB) | worst Δ (dB) | mean Δ over all pairs (dB) |",
                  "|---|---|---:|---:|---:|---:|"]
        for method, b in below.items():
            deltas = [d for _, d in b["pairs"]]
            lines.append(
                f"| {method} | {b['baseline']} | {len(deltas)}/{b['n']} | {format_number(np.mean(deltas) if deltas else math.nan, 3)} "
                f"| {format_number(min(deltas) if deltas else math.nan, 3)} | {format_number(b['mean_delta'], 3)} |"
            )
        lines.append("")
        for method, b in below.items():
            if b["pairs"]:
                shown = ", ".join(f"{s} ({d:+.3f})" for s, d in b["pairs"][:listed])
                more = f", … and {len(b['pairs']) - listed} more (see the CSV)" if len(b["pairs"]) > listed else ""
                lines.append(f"- {method} below {b['baseline']}: {shown}{more}")
        lines += ["", "## Five worst pairs (PSNR Δ against pixel-wise)", ""]
        wide = {m: table.pivot(index="set", columns="method", values=m) for m in ("psnr", "ssim")}
        solver = table.set_index(["set", "method"])
        lines += ["| method | set | PSNR (dB) | pixel-wise PSNR (dB) | Δ PSNR (dB) | Δ SSIM | iterations | stopped early |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for method, b in below.items():
            for set_id, delta in b["worst"]:
                psnr, base_psnr = wide["psnr"].at[set_id, method], wide["psnr"].at[set_id, b["baseline"]]
                dssim = wide["ssim"].at[set_id, method] - wide["ssim"].at[set_id, b["baseline"]]
                record = solver.loc[(set_id, method)]
                iterations = "" if pd.isna(record["iterations"]) else str(int(record["iterations"]))
                stopped = "" if pd.isna(record["stopped_early"]) else ("yes" if record["stopped_early"] else "no")
                lines.append(f"| {method} | {set_id} | {format_number(psnr, 2)} | {format_number(base_psnr, 2)} | {delta:+.3f} "
                             f"| {format_number(dssim, 4)} | {iterations} | {stopped} |")
        lines.append("")
    lines.append("PSNR, SSIM and FSIM against the all-in-focus reference; Q is the MFF-SSIM index of every method under "
                 "the same map (metrics.index_detector, metrics.index_variant). Δ = MFF-SSIM − pixel-wise on the same "
                 "pair (same focus map); seconds are the solver's wall time.")
    return "\n".join(lines) + "\n"


def write_summary(table: pd.DataFrame, path: str | os.PathLike, **options) -> None:
    """Write :func:`summary_markdown`, atomically."""
    text = summary_markdown(table, **options)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


# ------------------------------------------------------------------------------------------------ figure
def psnr_figure(table: pd.DataFrame, path: str | os.PathLike, *, title: str | None = None, dpi: int = 100) -> None:
    """One panel per MFF-SSIM method: its PSNR (y) against its pixel-wise baseline's PSNR (x), one point per
    pair, with the diagonal; points below it (MFF-SSIM worse) in red, and the worst pair named."""
    from matplotlib.figure import Figure

    below = below_baseline(table)
    panels = max(len(below), 1)
    figure = Figure(figsize=(3.6 * panels, 3.9), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    wide = table.pivot(index="set", columns="method", values="psnr")
    if not below:
        axes[0].text(0.5, 0.5, "no MFF-SSIM method with a pixel-wise baseline", ha="center", va="center", fontsize=8)
        axes[0].set_axis_off()
    for axis, (method, b) in zip(axes, below.items()):
        pairs = wide[[method, b["baseline"]]].dropna()
        x, y = pairs[b["baseline"]].to_numpy(), pairs[method].to_numpy()
        worse = y < x
        axis.scatter(x[~worse], y[~worse], s=12, color="tab:blue", label="MFF-SSIM ≥ pixel-wise")
        axis.scatter(x[worse], y[worse], s=12, color="tab:red", label="MFF-SSIM < pixel-wise")
        finite = np.concatenate([x, y])
        finite = finite[np.isfinite(finite)]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        pad = max(0.5, 0.03 * (high - low))
        axis.plot([low - pad, high + pad], [low - pad, high + pad], color="0.4", linewidth=0.8, linestyle="--")
        axis.set_xlim(low - pad, high + pad)
        axis.set_ylim(low - pad, high + pad)
        axis.set_aspect("equal")
        if b["worst"] and b["worst"][0][1] < 0:
            set_id, delta = b["worst"][0]
            axis.annotate(f"{set_id} ({delta:+.2f} dB)", (wide.at[set_id, b["baseline"]], wide.at[set_id, method]),
                          fontsize=7, xytext=(4, -10), textcoords="offset points")
        axis.set_xlabel(f"{b['baseline']} PSNR (dB)", fontsize=8)
        axis.set_ylabel(f"{method} PSNR (dB)", fontsize=8)
        axis.set_title(f"{method}: {len(b['pairs'])}/{b['n']} pairs below", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=6, loc="upper left")
    if title:
        figure.suptitle(title, fontsize=9)
    save_figure(figure, path, dpi=dpi)
