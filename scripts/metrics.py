"""Rule metrics: one image set's metrics.json, assembled from its methods' metrics (rule method_metrics, the set's
own methods, and rule published_metrics, all the set's published results)."""
from _wf import start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim.io import atomic_write
from mffssim.workflow.ranking import assemble_set_metrics

records = [(path, json.loads(Path(path).read_text())) for path in snakemake.input.method_metrics]
record = assemble_set_metrics(records, snakemake.params.methods, snakemake.wildcards.dataset, snakemake.wildcards.set)
logger.info("%d methods", len(record["methods"]))
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
