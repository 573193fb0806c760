"""Rule convergence: Q against the iteration for every MFF-SSIM fusion of a data set."""
from _wf import start

logger = start(snakemake)

from pathlib import Path

import pandas as pd

from mffssim.workflow.figures import convergence_figure

traces, groups = {}, {}
for path in map(Path, snakemake.input):  # results/<dataset>/<set>/<method>/trace.csv
    label = f"{path.parent.parent.name} {path.parent.name}"
    traces[label] = pd.read_csv(path)["q"].to_numpy()
    groups[label] = path.parent.name  # one colour per method
title = f"{snakemake.wildcards.dataset}: MFF-SSIM convergence, one line per image set"
convergence_figure(traces, snakemake.output.plot, groups=groups, title=title)
logger.info("%d traces", len(traces))
