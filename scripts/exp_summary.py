"""Rule experiment_summary: results/experiments/SUMMARY.md from every experiment's outputs."""
from _wf import start

logger = start(snakemake)

from mffssim.workflow.experiments.summary import build_summary, run_differences, run_settings, write_summary

inputs, facts = snakemake.input, snakemake.params.facts
text = build_summary(
    table1=dict(zip(snakemake.params.datasets, inputs.table1)),
    agreement=inputs.agreement[0] if inputs.agreement else None,
    multi_source=inputs.multi_source[0] if inputs.multi_source else None,
    studies=list(inputs.studies),
    settings=run_settings(facts),
    differences=run_differences(facts),
    skipped=snakemake.params.skipped_by_dataset,
)
write_summary(snakemake.output.summary, text)
logger.info("SUMMARY.md: %d lines", text.count("\n"))
