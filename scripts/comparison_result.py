"""Rule comparison_result: another program's published result on a set (focus-stack's), as a method.

For an aligned data set the result is registered to the anchor frame as it was read and cropped to the
common area, so it is scored against the same registered frames as our fused images."""
from _wf import image_set, start

logger = start(snakemake)

from pathlib import Path

from mffssim.align import describe, read_transforms, register_image
from mffssim.io import ImageError, read_image, read_image_and_depth, read_image_set, write_image

params = snakemake.params
result, depth = read_image_and_depth(params.result)
if params.aligned:
    alignment = read_transforms(Path(params.set_dir) / "transforms.tsv")
    base = image_set(params.base_dir)
    anchor = read_image(base.sources[alignment.anchor])
    result, matrix = register_image(result, anchor, alignment)
    scale, rotation, dx, dy = describe(matrix)
    logger.info("%s registered to %s: scale %.4f, rotation %+.3f deg, shift (%+.1f, %+.1f) px; cropped to %s",
                params.result, base.sources[alignment.anchor].name, scale, rotation, dx, dy, alignment.crop)
sources, _ = read_image_set(image_set(params.set_dir).sources)
if result.shape != sources.shape[1:]:
    raise ImageError(f"{params.result}: shape {result.shape} differs from the sources {sources.shape[1:]}")
write_image(snakemake.output.fused, result, depth if depth in (8, 16) else 16)
