"""Rule download_dataset: download a data set from its manifest (sizes and sha256 checked), then index it."""
from _wf import start, write_set_index

logger = start(snakemake)

from mffssim.datasets import dataset_set_ids, download_dataset
from mffssim.datasets.stacks import link_frame_sources

name = snakemake.wildcards.downloadable
download_dataset(
    name, snakemake.params.dest, mirror=snakemake.params.mirror, retries=snakemake.params.retries, progress=True
)
logger.info("downloaded %s into %s", name, snakemake.params.dest)
linked = link_frame_sources(name, snakemake.params.dest)  # frames not named source_k (focus stacks)
if linked:
    logger.info("linked %d frames as source_k", len(linked))
write_set_index(snakemake.params.dest, list(dataset_set_ids(name)), snakemake.output.index)
