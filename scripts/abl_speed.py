"""Rule abl_speed: time per iteration and to converge against image size and W, both variants (item 7)."""
from _wf import start

logger = start(snakemake)

from mffssim.kernels import set_threads
from mffssim.workflow.experiments.report_io import write_rows, write_text
from mffssim.workflow.experiments.speed import speed_figure, speed_study, summary_markdown

set_threads(snakemake.threads)
study, fuse = dict(snakemake.params.study), dict(snakemake.params.fuse)
rows = speed_study(**study, fuse_options=fuse, progress=lambda row: logger.info("%s", row))
write_rows(rows, snakemake.output.csv)
speed_figure(rows, snakemake.output.figure)
settings = {**study, **fuse, "threads": snakemake.threads}
write_text(snakemake.output.md, summary_markdown(rows, settings))
