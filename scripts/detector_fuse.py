"""Rule fuse_ms_resnet: MS-ResNet, MFF-SSIM optimisation from the ResNet map, one pair at a time for K > 2
(mffssim.detector.fuse_sequential). Writes the fused image, the composed K-way map, the last step's Q
trace, the solver's record (fusion.json, summed over the steps), and under steps/ each step's map and trace."""
from _wf import check_scene, load_image_set, start, write_trace

logger = start(snakemake)

from pathlib import Path

from mffssim import fuse, window_size, write_focus_map, write_image
from mffssim.detector.inference import compose_step_maps, fuse_sequential
from mffssim.kernels import set_threads
from mffssim.workflow.quality import fusion_record, write_fusion_record

set_threads(snakemake.threads)
params = snakemake.params
loaded = load_image_set(params.set_dir)
sources = loaded.sources
check_scene(snakemake, loaded)
n_sources, height, width = sources.shape[:3]
window = window_size(height, width, ratio=params.window_ratio, cap=params.window_cap)
logger.info("MS-ResNet of %s (%d sources, %dx%d), variant %s, window %d, %s lr %s, iterations %s",
            params.set_dir, n_sources, width, height, params.variant, window, params.optimizer, params.lr,
            params.iterations)
traces, results = [], []


def fuse_step(pair, focus_map):
    """One pairwise MFF-SSIM fusion; keeps its Q trace."""
    result = fuse(pair, focus_map, window=window, variant=params.variant, optimizer=params.optimizer,
                  lr=params.lr, iterations=params.iterations, tol=params.tol, init=params.init, keep=params.keep,
                  device=params.device, dtype=params.dtype, engine=params.engine, max_memory_mb=params.max_memory_mb, progress=True)
    traces.append([float(q) for q in result.trace])
    results.append(result)
    logger.info("step %d: %d iterations in %.2f s, Q %.6f -> %.6f", len(traces), result.iterations,
                result.seconds, traces[-1][0], result.q)
    return result


image, steps = fuse_sequential(sources, snakemake.input.weights, device=params.detector_device,
                               tile=params.tile, fuse=fuse_step)


steps_dir = Path(snakemake.output.steps)
steps_dir.mkdir(parents=True, exist_ok=True)
for number, (step_map, trace) in enumerate(zip(steps, traces), start=1):
    write_focus_map(steps_dir / f"step_{number}_map.png", step_map)
    write_trace(steps_dir / f"step_{number}_trace.csv", trace)
write_image(snakemake.output.fused, image, loaded.write_depth)
write_focus_map(snakemake.output.focus_map, compose_step_maps(steps))
write_trace(snakemake.output.trace, traces[-1])
write_fusion_record(snakemake.output.fusion, fusion_record(results))
