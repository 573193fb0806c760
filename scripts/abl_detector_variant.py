"""Rule abl_detector_variant: train and evaluate the detector at one (width, blocks) of the ablation grid (Fig. 8)."""
from _wf import start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim.workflow.experiments.detector_ablation import train_variant

out_dir = Path(snakemake.output.weights).parent
settings = dict(snakemake.params.settings)
logger.info("training %s", json.dumps(settings, default=list))
row = train_variant(settings, out_dir, device=snakemake.params.device, threads=snakemake.threads)
logger.info("evaluation: %s", json.dumps(row))
