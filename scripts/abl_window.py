"""Rule abl_window: every set's window-ratio runs -> window.csv, the best alpha per metric, the figure, summary.md."""
from _wf import start

logger = start(snakemake)

from mffssim.workflow.experiments.report_io import read_rows, write_rows, write_text
from mffssim.workflow.experiments.window import best_ratios, summary_markdown, window_figure

settings = dict(snakemake.params.settings)
rows = read_rows(snakemake.input)
write_rows(rows, snakemake.output.csv)
write_rows(best_ratios(rows, settings["metrics"]), snakemake.output.best)
window_figure(rows, snakemake.output.figure, settings["metrics"])
write_text(snakemake.output.md, summary_markdown(rows, settings))
logger.info("%d runs", len(rows))
