"""Rule quality_dataset: one data set's per-pair quality table, summary and PSNR figure (mffssim.workflow.quality)."""
from _wf import start

logger = start(snakemake)

from mffssim.workflow.quality import psnr_figure, read_pair_table, select_methods, write_pair_table, write_summary

methods = list(snakemake.params.methods)
table = select_methods(read_pair_table(snakemake.input.metrics, snakemake.input.fusion), methods)
write_pair_table(table, snakemake.output.csv)
write_summary(table, snakemake.output.md, title=snakemake.params.title, methods=methods)
psnr_figure(table, snakemake.output.figure, title=snakemake.params.title)
logger.info("%d rows: %d sets x %d methods", len(table), table["set"].nunique(), len(methods))
