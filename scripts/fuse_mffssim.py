"""Rule fuse_mffssim: maximise the MFF-SSIM index (Algorithm 1) from a focus map; write image, map and Q trace."""
from _wf import image_set, start, write_trace

logger = start(snakemake)

import torch

from mffssim import fuse, read_focus_map, read_image_set, window_size, write_focus_map, write_image

torch.set_num_threads(snakemake.threads)
params = snakemake.params
files = image_set(params.set_dir)
sources, bit_depth = read_image_set(files.sources)
n_sources, height, width = sources.shape[:3]
focus_map = read_focus_map(snakemake.input.focus_map, n_sources, shape=(height, width))
window = window_size(height, width, ratio=params.window_ratio, cap=params.window_cap)
logger.info(
    "fusing %s (%d sources, %dx%d), variant %s, window %d, %s lr %s, %d iterations",
    params.set_dir, n_sources, width, height, params.variant, window, params.optimizer, params.lr, params.iterations,
)
result = fuse(
    sources,
    focus_map,
    window=window,
    variant=params.variant,
    optimizer=params.optimizer,
    lr=params.lr,
    iterations=params.iterations,
    tol=params.tol,
    init=params.init,
    keep=params.keep,
    device=params.device,
    dtype=params.dtype,
    progress=True,
    max_memory=params.max_memory_mb * 2**20,
)
trace = [float(q) for q in result.trace]
logger.info("%d iterations in %.2f s%s, Q %.6f -> %.6f (returned: iteration %d, keep %s)", result.iterations,
            result.seconds, ", stopped early" if result.stopped_early else "", trace[0], result.q,
            result.returned_iteration, params.keep)
if result.settings.get("solver") == "band":
    logger.info("band solver: frames %dx%d, %d/%d tiles of %d, band %.1f%% of the windows", width, height,
                result.settings["band_tiles"], result.settings["tiles"], result.settings["tile"],
                100 * result.settings["band_share"])
else:
    logger.info("full-frame solver (frames %dx%d)", width, height)

write_image(snakemake.output.fused, result.image, bit_depth if bit_depth in (8, 16) else 16)
write_focus_map(snakemake.output.focus_map, result.focus_map)
write_trace(snakemake.output.trace, trace)
