"""Rule abl_robustness: every set's trials -> robustness.csv, the per-(set, method, p) summary, the figure, summary.md."""
from _wf import start

logger = start(snakemake)

from mffssim.workflow.experiments.report_io import read_rows, write_rows, write_text
from mffssim.workflow.experiments.robustness import robustness_figure, summarize, summary_markdown

rows = read_rows(snakemake.input)
summary = summarize(rows)
write_rows(rows, snakemake.output.csv)
write_rows(summary, snakemake.output.summary_csv)
robustness_figure(summary, snakemake.output.figure)
write_text(snakemake.output.md, summary_markdown(summary, dict(snakemake.params.settings)))
logger.info("%d trials, %d summary rows", len(rows), len(summary))
