"""Rule method_metrics: the metrics of one method's fused image of one set (full-reference ones where the set
has a reference, no-reference ones always) and its MFF-SSIM index under the common map."""
from _wf import load_image_set, start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim import read_focus_map, read_image, window_size
from mffssim.io import atomic_write
from mffssim.metrics import load_features
from mffssim.workflow.ranking import score_image

params = snakemake.params
_, sources, _, reference = load_image_set(params.set_dir, reference=True)
n_sources, height, width = sources.shape[:3]
focus_map = read_focus_map(snakemake.input.index_map, n_sources, shape=(height, width))
window = window_size(height, width, ratio=params.window_ratio, cap=params.window_cap)
fused = read_image(snakemake.input.fused)
values = score_image(
    sources, fused, reference=reference,
    names=params.names, focus_map=focus_map, window=window, variant=params.index_variant,
    features=load_features(snakemake.input.features),
)
logger.info("%s: %s", snakemake.wildcards.method, values)
record = {"method": snakemake.wildcards.method, "reference": reference is not None,
          "index_map": Path(snakemake.input.index_map).stem, "index_variant": params.index_variant,
          "window": window, "values": values}
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
