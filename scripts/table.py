"""Rule table: aggregate a data set's metrics.json files to methods x metrics (mean, std), best marked."""
from _wf import start

logger = start(snakemake)

from mffssim.metrics.convention import CONVENTION_NOTES, check_convention
from mffssim.workflow.tables import read_metrics, read_scene_warnings, summarise, write_table

records = read_metrics(snakemake.input)
summary = summarise(records, methods=list(snakemake.params.methods))
dataset = snakemake.wildcards.dataset
convention = snakemake.params.convention
title = f"{dataset}: {records['set'].nunique()} image sets ({check_convention(convention)} metrics: {CONVENTION_NOTES[convention]})"
write_table(summary, snakemake.output.csv, snakemake.output.md, title=title,
            skipped=dict(snakemake.params.skipped), scenes=read_scene_warnings(snakemake.input))
logger.info("table of %d methods x %d records", len(summary), len(records))
