"""Rules fuse_pixelwise and fuse_average: the baselines (Eq. 1 with the same focus map; the mean of the sources)."""
from _wf import check_scene, load_image_set, start

logger = start(snakemake)

from mffssim import average_fuse, pixelwise_fuse, read_focus_map, write_focus_map, write_image

loaded = load_image_set(snakemake.params.set_dir)
sources = loaded.sources
check_scene(snakemake, loaded)
if snakemake.rule == "fuse_pixelwise":
    focus_map = read_focus_map(snakemake.input.focus_map, sources.shape[0], shape=sources.shape[1:3])
    fused = pixelwise_fuse(sources, focus_map)
    write_focus_map(snakemake.output.focus_map, focus_map)
else:
    fused = average_fuse(sources)
logger.info("%s of %s", snakemake.rule, snakemake.params.set_dir)
write_image(snakemake.output.fused, fused, loaded.write_depth)
