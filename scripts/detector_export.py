"""Rule export_detector: the trained detector as the package ships it (mffssim/detector/weights/): the
weights and a record of their training config, data checksums, code version and held-out figures."""
from _wf import start

logger = start(snakemake)

import csv
from pathlib import Path

from mffssim.detector.shipped import export_shipped

with open(snakemake.input.evaluation, newline="") as handle:
    figures = next(csv.DictReader(handle))
settings = {k: v for k, v in dict(snakemake.params.settings).items() if k != "root"}  # no machine paths
out = export_shipped(snakemake.input.weights, Path(snakemake.output.weights).parent, config=settings,
                     data_roots=dict(snakemake.params.roots), figures=figures)
logger.info("exported %s (%d bytes)", out, out.stat().st_size)
