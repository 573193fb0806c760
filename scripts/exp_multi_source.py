"""Rule experiment_multi_source: the K > 2 table (every method and metric per set) and figure (sources,
K-way Laplacian map, fused images), as Fig. 12."""
from _wf import load_image_set, start

logger = start(snakemake)

import pandas as pd

from mffssim import read_focus_map, read_image
from mffssim.workflow.experiments.tables import method_name, multi_source_figure, multi_source_table, write_multi_source
from mffssim.workflow.tables import read_metrics

sets = snakemake.params.sets
keyed = []
for entry, path in zip(sets, snakemake.input.metrics):
    records = read_metrics([path])
    records["set"] = f"{entry['dataset']}/{entry['set']}"
    keyed.append(records)
table = multi_source_table(pd.concat(keyed, ignore_index=True), {f"{e['dataset']}/{e['set']}": e["K"] for e in sets})
write_multi_source(table, snakemake.output.csv, snakemake.output.md, snakemake.params.convention)

rows, fused_paths = [], iter(snakemake.input.fused)
for entry, map_path in zip(sets, snakemake.input.focus_map):
    sources = load_image_set(entry["dir"]).sources
    focus_map = read_focus_map(map_path, sources.shape[0], shape=sources.shape[1:3])
    fused = {method_name(m): read_image(next(fused_paths)) for m in entry["methods"]}
    rows.append((f"{entry['dataset']}/{entry['set']}", sources, focus_map, fused))
multi_source_figure(rows, snakemake.output.figure)
logger.info("K > 2: %d sets, %d rows", len(sets), len(table))
