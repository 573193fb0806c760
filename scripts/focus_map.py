"""Rule focus_map: the focus map of one image set, by Laplacian energy (`lap`) or from its annotated file (`given`)."""
from _wf import load_image_set, start

logger = start(snakemake)

from mffssim import read_focus_map, write_focus_map

files, sources, _, _ = load_image_set(snakemake.params.set_dir)
n_sources, height, width = sources.shape[:3]
detector = snakemake.wildcards.detector
if detector == "lap":
    from mffssim import laplacian_focus_map, window_size  # imports torch: only when needed

    window = window_size(height, width, ratio=snakemake.params.window_ratio, cap=snakemake.params.window_cap)
    logger.info("Laplacian-energy map of %d sources %dx%d, window %d", n_sources, width, height, window)
    focus_map = laplacian_focus_map(sources, window)
elif detector == "given":
    if files.focus_map is None:
        raise FileNotFoundError(f"{snakemake.params.set_dir}: no focus_map file for the 'given' detector")
    focus_map = read_focus_map(files.focus_map, n_sources, shape=(height, width))
else:
    raise ValueError(f"focus_map rule: unknown detector {detector!r}")
write_focus_map(snakemake.output.focus_map, focus_map)
