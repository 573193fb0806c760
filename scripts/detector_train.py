"""Rule train_detector: train the ResNet focus-map detector, write its loss curve and held-out evaluation.

Training resumes from results/detector/checkpoints/ after an interruption, but only when the settings that
wrote the checkpoint are the current ones (a settings change starts afresh).
"""
from _wf import start

logger = start(snakemake)

import json
import shutil
from pathlib import Path

from mffssim.detector import DetectorConfig, train_and_evaluate

settings = DetectorConfig.from_mapping(snakemake.params.settings).to_dict()  # fails early on a bad key
out_dir = Path(snakemake.output.weights).parent
checkpoints = out_dir / "checkpoints"
stamp = checkpoints / "settings.json"
wanted = json.dumps(settings, sort_keys=True, default=list)
if checkpoints.exists() and (not stamp.is_file() or stamp.read_text() != wanted):
    logger.info("checkpoints of other settings in %s: starting afresh", checkpoints)
    shutil.rmtree(checkpoints)
checkpoints.mkdir(parents=True, exist_ok=True)
stamp.write_text(wanted)
logger.info("training the detector: %s", wanted)
row = train_and_evaluate(settings, out_dir, device=snakemake.params.device, threads=snakemake.threads)
logger.info("evaluation: %s", json.dumps(row))
