"""Rule download_published_pair: the published results (MFIFB's 30 methods) of one pair, checked, then indexed."""
from _wf import start, write_set_index

logger = start(snakemake)

from mffssim.datasets import download_dataset
from mffssim.registry import PUBLISHED_RESULTS

pair = snakemake.wildcards.set
download_dataset(
    PUBLISHED_RESULTS, snakemake.params.dest, mirror=snakemake.params.mirror, retries=snakemake.params.retries,
    sets=[pair],
)
logger.info("downloaded the published results of %s into %s", pair, snakemake.params.dest)
write_set_index(snakemake.params.dest, [pair], snakemake.output.index)
