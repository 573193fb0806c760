"""Rule convergence: Q against the iteration for every MFF-SSIM fusion of a data set."""
from _wf import start

logger = start(snakemake)

from pathlib import Path

import pandas as pd

from mffssim.figures import convergence_figure

traces = {}
for path in snakemake.input:
    path = Path(path)
    label = f"{path.parent.parent.name} {path.parent.name}"  # <set> <method>
    traces[label] = pd.read_csv(path)["q"].to_numpy()
convergence_figure(traces, snakemake.output.plot, title=f"{snakemake.wildcards.dataset}: MFF-SSIM convergence")
logger.info("%d traces", len(traces))
