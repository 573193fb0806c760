"""Rule embedded_dataset: make the embedded synthetic image sets (offline, seeded) and their index."""
from _wf import start, write_set_index

logger = start(snakemake)

from mffssim.datasets import make_embedded_dataset

set_ids = make_embedded_dataset(snakemake.params.dest, seed=snakemake.params.seed, size=snakemake.params.size)
logger.info("made %d embedded image sets in %s", len(set_ids), snakemake.params.dest)
write_set_index(snakemake.params.dest, list(set_ids), snakemake.output.index)
