"""Rule ranking_table1: MFFW in the paper's Table I layout, the paper's rows beside ours on MFIFB's JPEG pairs."""
from _wf import start

logger = start(snakemake)

from pathlib import Path

from mffssim.io import atomic_write
from mffssim.workflow.experiments.tables import PAPER_TABLE1
from mffssim.workflow.ranking import table1_mffw
from mffssim.workflow.tables import read_metrics

paper = PAPER_TABLE1["mffw"]
text = table1_mffw(read_metrics(snakemake.input), paper["rows"], paper["n_sets"], snakemake.params.convention)
atomic_write(snakemake.output.md, lambda tmp: Path(tmp).write_text(text))
