"""Rule quality_dataset: one data set's per-pair quality table, summary and PSNR figure (mffssim.quality)."""
from _wf import start

logger = start(snakemake)

from mffssim.quality import psnr_figure, read_pair_table, write_pair_table, write_summary

table = read_pair_table(snakemake.input.metrics, snakemake.input.fusion)
methods = list(snakemake.params.methods)
table = table[table["method"].isin(methods)].reset_index(drop=True)
write_pair_table(table, snakemake.output.csv)
write_summary(table, snakemake.output.md, title=snakemake.params.title, methods=methods)
psnr_figure(table, snakemake.output.figure, title=snakemake.params.title)
logger.info("%d rows: %d sets x %d methods", len(table), table["set"].nunique(), len(methods))
