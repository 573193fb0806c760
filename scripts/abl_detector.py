"""Rule abl_detector: the grid's evaluations -> detector_ablation.csv, the figure, summary.md."""
from _wf import start

logger = start(snakemake)

from mffssim.workflow.experiments.detector_ablation import ablation_figure, ablation_table, summary_markdown
from mffssim.workflow.experiments.report_io import read_rows, write_rows, write_text

settings = dict(snakemake.params.settings)
rows = read_rows(snakemake.input)
write_rows(ablation_table(rows), snakemake.output.csv)
ablation_figure(rows, snakemake.output.figure, base_width=settings["base_width"], base_blocks=settings["base_blocks"])
write_text(snakemake.output.md, summary_markdown(rows, settings))
logger.info("%d grid points", len(rows))
