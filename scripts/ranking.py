"""Rule ranking_table: one data set's methods ranked by the no-reference metrics of the configured convention (the
survey toolbox's eight or MFIFB's twenty; csv, md, rank chart)."""
from _wf import start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim.workflow.ranking import ranking_notes, write_ranking
from mffssim.workflow.tables import read_metrics

paths = list(snakemake.input)
notes = ranking_notes([json.loads(Path(p).read_text()) for p in paths], snakemake.params.own, snakemake.params.own_missing)
table = write_ranking(read_metrics(paths), snakemake.params.methods, snakemake.wildcards.dataset, snakemake.output.csv,
                      snakemake.output.md, snakemake.output.chart, min_coverage=snakemake.params.min_coverage, notes=notes,
                      convention=snakemake.params.convention)
logger.info("ranked %d methods; top: %s", int(table["ranked"].sum()), list(table.index[:10]))
