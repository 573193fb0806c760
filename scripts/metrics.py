"""Rule metrics: quality metrics of every fused image of one image set (full-reference ones where the set
has a reference, no-reference ones always) and each image's MFF-SSIM index under one common map."""
from _wf import load_image_set, start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim import mffssim_index, read_focus_map, read_image, window_size
from mffssim.io import ImageError, atomic_write
from mffssim.metrics import evaluate

params = snakemake.params
_, sources, _, reference = load_image_set(params.set_dir, reference=True)
n_sources, height, width = sources.shape[:3]
focus_map = read_focus_map(snakemake.input.index_map, n_sources, shape=(height, width))
window = window_size(height, width, ratio=params.window_ratio, cap=params.window_cap)
results = {}
for method, path in zip(params.methods, snakemake.input.fused):
    fused = read_image(path)
    if fused.shape != sources.shape[1:]:
        raise ImageError(f"{path}: shape {fused.shape} differs from the sources {sources.shape[1:]}")
    values = evaluate(sources, fused, reference=reference, metrics=list(params.names) or None)
    values["mffssim"] = mffssim_index(sources, fused, focus_map, window, params.index_variant)
    results[method] = {name: float(value) for name, value in values.items()}
    logger.info("%s: %s", method, results[method])
record = {
    "dataset": snakemake.wildcards.dataset,
    "set": snakemake.wildcards.set,
    "reference": reference is not None,
    "index_map": Path(snakemake.input.index_map).stem,
    "index_variant": params.index_variant,
    "window": window,
    "methods": results,
}
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
