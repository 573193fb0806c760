"""Rule set_panel: the figure of one image set (sources, focus map, fused images, zoomed boundary crops)."""
from _wf import load_image_set, start

logger = start(snakemake)

from mffssim import read_focus_map, read_image
from mffssim.workflow.figures import panel_figure

sources = load_image_set(snakemake.params.set_dir).sources
focus_map = read_focus_map(snakemake.input.focus_map, sources.shape[0], shape=sources.shape[1:3])
fused = {method: read_image(path) for method, path in zip(snakemake.params.methods, snakemake.input.fused)}
crop = panel_figure(
    sources,
    focus_map,
    fused,
    snakemake.output.panel,
    crop=snakemake.params.crop,
    title=f"{snakemake.wildcards.dataset} / {snakemake.wildcards.set}",
)
logger.info("panel with crop (top, left, h, w) = %s", crop)
