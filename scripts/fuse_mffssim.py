"""Rules fuse_mffssim, fuse_mffssim_long, experiment_agreement_fuse: maximise the MFF-SSIM index (Algorithm 1)
from a focus map; write image, map, Q trace and the solver's record (fusion.json: iterations, early stop, seconds)."""
from _wf import check_scene, load_image_set, start, write_trace

logger = start(snakemake)

from mffssim import fuse, read_focus_map, window_size, write_focus_map, write_image
from mffssim.kernels import set_threads
from mffssim.workflow.quality import fusion_record, write_fusion_record

set_threads(snakemake.threads)
params = snakemake.params
loaded = load_image_set(params.set_dir)
sources = loaded.sources
check_scene(snakemake, loaded)
n_sources, height, width = sources.shape[:3]
focus_map = read_focus_map(snakemake.input.focus_map, n_sources, shape=(height, width))
window = window_size(height, width, ratio=params.window_ratio, cap=params.window_cap)
logger.info(
    "fusing %s (%d sources, %dx%d), variant %s, window %d, %s lr %s, iterations %s",
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
    engine=params.engine,
    max_memory_mb=params.max_memory_mb,
    progress=True,
)
trace = [float(q) for q in result.trace]
logger.info("%d iterations in %.2f s%s, Q %.6f -> %.6f (returned: iteration %d, keep %s)", result.iterations,
            result.seconds, ", stopped early" if result.stopped_early else "", trace[0], result.q,
            result.returned_iteration, params.keep)

write_image(snakemake.output.fused, result.image, loaded.write_depth)
write_focus_map(snakemake.output.focus_map, result.focus_map)
write_trace(snakemake.output.trace, trace)
write_fusion_record(snakemake.output.fusion, fusion_record([result]))
