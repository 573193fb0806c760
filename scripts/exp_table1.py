"""Rule experiment_table1: Table I of one data set (its two-source sets) in the paper's layout, the paper's
own numbers beside ours where it has them (MFFW)."""
from _wf import start

logger = start(snakemake)

from mffssim.workflow.experiments.tables import table1, write_table1
from mffssim.workflow.tables import read_metrics

records = read_metrics(snakemake.input.metrics)
summary = table1(records, methods=list(snakemake.params.methods))
write_table1(summary, snakemake.output.csv, snakemake.output.md, snakemake.wildcards.dataset,
             skipped=dict(snakemake.params.skipped), convention=snakemake.params.convention)
logger.info("Table I of %s: %d methods x %d sets", snakemake.wildcards.dataset, len(summary), records["set"].nunique())
