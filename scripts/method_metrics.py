"""Rule method_metrics: the metrics of every method's fused image of one set (the published results aside, rule
published_metrics), full-reference ones where the set has a reference, no-reference ones always, and the MFF-SSIM
index under the common map. One job per set: the interpreter, the set and the sources' terms are loaded once.
Each method's values are kept in results/<dataset>/<set>/<method>/metrics.json with what they depend on (its
image's SHA-256, the params, the sources, reference and map), so a rerun computes only the methods that are
new or whose image or settings changed."""
from _wf import set_scorer, start

logger = start(snakemake)

import hashlib
import json
from pathlib import Path

from mffssim import read_image
from mffssim.io import atomic_write
from mffssim.workflow.ranking import cached_scores, file_sha256

params = snakemake.params
scorer = set_scorer(snakemake)
digest = hashlib.sha256(scorer.sources.tobytes())
if scorer.reference is not None:
    digest.update(scorer.reference.tobytes())
digest.update(file_sha256(snakemake.input.index_map).encode())
key = {"set": digest.hexdigest(), "names": list(params.names), "convention": params.convention,
       "fmi_thinning": params.fmi_thinning, "index_variant": params.index_variant, "window": scorer.window,
       "index_map": scorer.index_map}
fused = dict(zip(params.methods, snakemake.input.fused))
methods, computed = cached_scores(fused, lambda path: scorer.score(read_image(path)), key,
                                  lambda method: Path(params.cache_dir) / method / "metrics.json")
for method in params.methods:
    logger.info("%s (%s): %s", method, "computed" if method in computed else "cached", methods[method])
record = {"reference": scorer.reference is not None, "index_map": scorer.index_map,
          "index_variant": params.index_variant, "convention": params.convention, "window": scorer.window,
          "methods": methods, "computed": computed, **({"scene": scorer.scene} if scorer.scene else {})}
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
