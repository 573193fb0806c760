"""Rule ranking_table: one data set's methods ranked by the no-reference toolbox metrics (csv, md, rank chart)."""
from _wf import start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim.workflow.ranking import write_ranking
from mffssim.workflow.tables import read_metrics

paths = list(snakemake.input)
records = read_metrics(paths)
colour = sorted({f"{m} on {json.loads(Path(p).read_text())['set']}" for p in paths
                 for m in json.loads(Path(p).read_text()).get("notes", {})})
notes = []
if colour:
    notes.append(f"{len(colour)} published results are colour images of gray pairs, scored on their luminance "
                 f"(MATLAB rgb2gray, as the toolbox does): {', '.join(colour)}.")
if snakemake.params.own and snakemake.params.own_missing:
    notes.append(f"{snakemake.params.own} has no image for {len(snakemake.params.own_missing)} selected set(s): "
                 f"{', '.join(snakemake.params.own_missing)}.")
table = write_ranking(records, snakemake.params.methods, snakemake.wildcards.dataset, snakemake.output.csv,
                      snakemake.output.md, snakemake.output.chart, min_coverage=snakemake.params.min_coverage, notes=notes)
logger.info("ranked %d methods; top: %s", int(table["ranked"].sum()), list(table.index[:10]))
