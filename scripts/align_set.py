"""Rule align_set: register one image set to its middle frame; write source_k.png (the sources' bit depth,
their ICC profile and EXIF) and transforms.tsv into the output folder, all or nothing."""
from _wf import image_set, start

logger = start(snakemake)

from pathlib import Path

from mffssim.align import align_stack, format_transforms, warp_frames
from mffssim.io import atomic_write_all, read_image_set, read_photo_metadata, write_image

params = snakemake.params
files = image_set(params.set_dir)
sources, bit_depth = read_image_set(files.sources)
alignment = align_stack(sources, model=params.model, match_brightness=params.match_brightness, crop=params.crop,
                        names=[p.name for p in files.sources], log=logger.info)
x0, y0, w, h = alignment.crop
logger.info("anchor %s; common area %dx%d at (%d, %d) of %dx%d", files.sources[alignment.anchor].name, w, h, x0, y0,
            sources.shape[2], sources.shape[1])
aligned = warp_frames(sources, alignment, crop=params.crop)
folder = Path(snakemake.output.folder)
depth = bit_depth if bit_depth in (8, 16) else 16
text = format_transforms(alignment)


def frame(k):
    metadata = read_photo_metadata(files.sources[k])
    return lambda tmp: write_image(tmp, aligned[k], depth, metadata=metadata)


writes = [(folder / f"source_{k + 1}.png", frame(k)) for k in range(len(aligned))]
writes.append((folder / "transforms.tsv", lambda tmp: Path(tmp).write_text(text, encoding="utf-8")))
atomic_write_all(writes)
