"""Rule published_metrics: the metrics of every published result of one set, read from the download."""
from _wf import load_image_set, start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim import read_focus_map, window_size
from mffssim.io import atomic_write
from mffssim.metrics import load_features
from mffssim.workflow.ranking import load_result, score_image

params = snakemake.params
_, sources, _, reference = load_image_set(params.set_dir, reference=True)
n_sources, height, width = sources.shape[:3]
focus_map = read_focus_map(snakemake.input.index_map, n_sources, shape=(height, width))
window = window_size(height, width, ratio=params.window_ratio, cap=params.window_cap)
features = load_features(snakemake.input.features)
methods, notes = {}, {}
for method, path in params.files.items():
    fused, _, note = load_result(path, sources.shape)
    methods[method] = score_image(sources, fused, reference=reference, names=params.names, focus_map=focus_map,
                                  window=window, variant=params.index_variant, features=features)
    if note:
        notes[method] = note
        logger.info("%s: %s", path, note)
    logger.info("%s: %s", method, methods[method])
record = {"reference": reference is not None, "index_map": Path(snakemake.input.index_map).stem,
          "index_variant": params.index_variant, "window": window, "methods": methods, "notes": notes}
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
