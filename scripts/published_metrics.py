"""Rule published_metrics: the metrics of every published result of one set, read from the download."""
from _wf import set_scorer, start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim.io import atomic_write
from mffssim.workflow.ranking import load_result

scorer = set_scorer(snakemake)
methods, notes = {}, {}
for method, path in snakemake.params.files.items():
    fused, _, note = load_result(path, scorer.sources.shape, snakemake.params.convention)
    methods[method] = scorer.score(fused)
    if note:
        notes[method] = note
        logger.info("%s: %s", path, note)
    logger.info("%s: %s", method, methods[method])
record = {"reference": scorer.reference is not None, "index_map": scorer.index_map,
          "index_variant": snakemake.params.index_variant, "convention": snakemake.params.convention,
          "window": scorer.window, "methods": methods, "notes": notes, **({"scene": scorer.scene} if scorer.scene else {})}
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
