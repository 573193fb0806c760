"""Rule source_features: the sources' phase congruency (what QP needs), computed once per image set."""
from _wf import image_set, start

logger = start(snakemake)

from pathlib import Path

from mffssim import read_image_set
from mffssim.io import atomic_write
from mffssim.metrics import save_features, source_features

sources, _ = read_image_set(image_set(snakemake.params.set_dir).sources)
features = source_features(sources)
atomic_write(snakemake.output.features, lambda tmp: save_features(Path(tmp), features))
logger.info("features of %d sources, %s", len(features), sources.shape[1:])
