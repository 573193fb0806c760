"""Rule fuse_enfuse: fuse with the enfuse program (contrast weighting, hard mask), the photographers' tool.

enfuse writes float output (deterministic; its 8/16-bit output is randomly dithered), clipped to [0, 1]
and written at the bit depth of the sources."""
from _wf import check_scene, load_image_set, start

logger = start(snakemake)

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import tifffile

from mffssim import write_image

loaded = load_image_set(snakemake.params.set_dir)
files, sources = loaded.files, loaded.sources
check_scene(snakemake, loaded)
program = shutil.which("enfuse")
if program is None:
    raise FileNotFoundError("enfuse: program not found on PATH (install the Debian package enfuse)")
with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp) / "enfuse.tif"
    command = [program, *snakemake.params.options, f"--output={out}", *map(str, files.sources)]
    logger.info("running %s", " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True)
    logger.info("enfuse output:\n%s%s", done.stdout, done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"enfuse failed on {snakemake.params.set_dir} with exit code {done.returncode}")
    # a compressed float TIFF with an alpha channel; the blend overshoots [0, 1] slightly at edges
    fused = np.asarray(tifffile.imread(out), dtype=np.float32)
if fused.ndim == 2:
    fused = fused[:, :, None]
if fused.shape[2] in (2, 4):  # drop alpha
    fused = fused[:, :, :-1]
if not np.all(np.isfinite(fused)):
    raise RuntimeError(f"enfuse returned non-finite values for {snakemake.params.set_dir}")
fused = np.clip(fused, 0.0, 1.0)
if fused.shape[2] != sources.shape[3]:  # colour written for gray sources
    fused = fused.mean(axis=2, keepdims=True) if sources.shape[3] == 1 else fused
if fused.shape[:2] != sources.shape[1:3]:
    raise RuntimeError(f"enfuse returned {fused.shape[:2]} pixels for sources of {sources.shape[1:3]}")
write_image(snakemake.output.fused, fused, loaded.write_depth)
