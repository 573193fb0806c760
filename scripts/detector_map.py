"""Rule detect_resnet: the ResNet focus map of one image set (K = 2: the network's map; K > 2: the K-way
map composed from a pixel-wise sequential fusion, ((X1 + X2) + X3) + ..., see rules/detector.smk)."""
from _wf import load_image_set, start

logger = start(snakemake)

import torch

from mffssim import pixelwise_fuse, write_focus_map
from mffssim.detector.inference import compose_step_maps, fuse_sequential

torch.set_num_threads(snakemake.threads)
params = snakemake.params
sources = load_image_set(params.set_dir).sources
_, steps = fuse_sequential(sources, snakemake.input.weights, device=params.device, tile=params.tile,
                           fuse=lambda pair, focus_map: pixelwise_fuse(pair, focus_map))
logger.info("ResNet map of %d sources %s (%d pair steps)", len(sources), sources.shape[1:3], len(steps))
write_focus_map(snakemake.output.focus_map, compose_step_maps(steps))
