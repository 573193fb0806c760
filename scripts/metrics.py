"""Rule metrics: one image set's metrics.json, assembled from its methods' metrics (rule method_metrics, one
per method, and rule published_metrics, all the set's published results)."""
from _wf import start

logger = start(snakemake)

import json
from pathlib import Path

from mffssim.io import atomic_write

methods = list(snakemake.params.methods)
results, notes, common = {}, {}, {}
for path in snakemake.input.method_metrics:
    record = json.loads(Path(path).read_text())
    if "method" in record:
        results[record["method"]] = record["values"]
    else:
        results.update(record["methods"])
        notes.update(record.get("notes", {}))
    for key in ("reference", "index_map", "index_variant", "window"):
        if common.setdefault(key, record[key]) != record[key]:
            raise ValueError(f"{path}: {key} {record[key]!r} differs from the set's {common[key]!r}")
missing = [m for m in methods if m not in results]
if missing:
    raise ValueError(f"no metrics for method(s) {missing} among {list(snakemake.input.method_metrics)}")
record = {
    "dataset": snakemake.wildcards.dataset,
    "set": snakemake.wildcards.set,
    **common,
    "methods": {m: results[m] for m in methods},
}
if notes:
    record["notes"] = notes
logger.info("%d methods", len(methods))
atomic_write(snakemake.output.metrics, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n"))
