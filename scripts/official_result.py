"""Rule official_result: the authors' published MS-Lap / MS-ResNet image and map of one set, as a method."""
from _wf import load_image_set, start

logger = start(snakemake)

from pathlib import Path

from mffssim import read_focus_map, write_focus_map, write_image
from mffssim.io import ImageError, read_image_and_depth

kind = snakemake.wildcards.kind
folder = Path(snakemake.params.official_dir)
sources = load_image_set(snakemake.params.set_dir).sources
fused, depth = read_image_and_depth(folder / f"{kind}_fused.png")
if sources.shape[3] == 1 and fused.shape[2] == 3:
    # the authors saved their gray results as RGB (channels equal to within one level): average them
    spread = float((fused.max(axis=2) - fused.min(axis=2)).max())
    logger.info("gray sources, RGB result (channels differ by at most %.4f): averaged to gray", spread)
    fused = fused.mean(axis=2, keepdims=True)
if fused.shape != sources.shape[1:]:
    raise ImageError(f"{folder / f'{kind}_fused.png'}: shape {fused.shape} differs from the sources {sources.shape[1:]}")
focus_map = read_focus_map(folder / f"{kind}_map.png", sources.shape[0], shape=sources.shape[1:3])
logger.info("official %s result of %s", kind, folder)
write_image(snakemake.output.fused, fused, depth if depth in (8, 16) else 16)
write_focus_map(snakemake.output.focus_map, focus_map)
