"""Rule method_metrics: the metrics of one method's fused image of one set (full-reference ones where the set
has a reference, no-reference ones always) and its MFF-SSIM index under the common map."""
from _wf import set_scorer, start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim import read_image
from mffssim.io import atomic_write

scorer = set_scorer(snakemake)
values = scorer.score(read_image(snakemake.input.fused))
logger.info("%s: %s", snakemake.wildcards.method, values)
record = {"method": snakemake.wildcards.method, "reference": scorer.reference is not None,
          "index_map": scorer.index_map, "index_variant": snakemake.params.index_variant,
          "convention": snakemake.params.convention, "window": scorer.window, "values": values,
          **({"scene": scorer.scene} if scorer.scene else {})}
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
