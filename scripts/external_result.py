"""Rules published_result and own_result: a fused image made elsewhere (MFIFB's published result, the user's own)
as a method of one set; one error naming the file when it is unreadable or of another size."""
from _wf import load_image_set, start

logger = start(snakemake)

from mffssim import write_image
from mffssim.workflow.ranking import load_result

_, sources, _, _ = load_image_set(snakemake.params.set_dir)
fused, depth, note = load_result(snakemake.params.file, sources.shape, snakemake.params.convention)
if note:
    logger.info("%s: %s", snakemake.params.file, note)
write_image(snakemake.output.fused, fused, depth if depth in (8, 16) else 16)
logger.info("%s -> %s", snakemake.params.file, snakemake.output.fused)
