"""Rule fuse_enfuse: fuse with the enfuse program (contrast weighting, hard mask), the photographers' tool."""
from _wf import image_set, start

logger = start(snakemake)

import shutil
import subprocess
import tempfile
from pathlib import Path

from mffssim import read_image, read_image_set, write_image

files = image_set(snakemake.params.set_dir)
sources, bit_depth = read_image_set(files.sources)
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
    fused = read_image(out)  # LZW-compressed RGBA TIFF; the alpha channel is dropped
if fused.shape[2] != sources.shape[3]:  # enfuse writes colour for gray inputs
    fused = fused.mean(axis=2, keepdims=True) if sources.shape[3] == 1 else fused
if fused.shape[:2] != sources.shape[1:3]:
    raise RuntimeError(f"enfuse returned {fused.shape[:2]} pixels for sources of {sources.shape[1:3]}")
write_image(snakemake.output.fused, fused, bit_depth if bit_depth in (8, 16) else 16)
