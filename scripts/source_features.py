"""Rule source_features: the sources' phase congruency (what QP needs; per channel under the mfifb convention),
computed once per image set."""
from _wf import load_image_set, start

logger = start(snakemake)

from pathlib import Path

from mffssim.io import atomic_write
from mffssim.metrics import save_features, source_features

_, sources, _, _ = load_image_set(snakemake.params.set_dir)
features = source_features(sources, convention=snakemake.params.convention)
atomic_write(snakemake.output.features, lambda tmp: save_features(Path(tmp), features))
logger.info("features of %d sources, %s", len(features), sources.shape[1:])
