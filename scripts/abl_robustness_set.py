"""Rule abl_robustness_set: one image set's robustness trials (Fig. 7), one csv row per (p, trial, method)."""
from _wf import load_image_set, start

logger = start(snakemake)

from mffssim.kernels import set_threads
from mffssim import read_focus_map
from mffssim.workflow.experiments.report_io import write_rows
from mffssim.workflow.experiments.robustness import robustness_study

set_threads(snakemake.threads)
params = snakemake.params
files, sources, _, reference = load_image_set(params.set_dir, reference=True)
if files.focus_map is None:
    raise SystemExit(f"{params.set_dir}: the robustness study needs the set's accurate focus_map file")
focus_map = read_focus_map(files.focus_map, len(sources), shape=sources.shape[1:3])
logger.info("%s: %d sources %s, reference %s, p %s, %d trials, fuse %s", params.set_dir, len(sources),
            sources.shape[1:3], reference is not None, params.probabilities, params.trials, dict(params.fuse))
rows = robustness_study(sources, focus_map, reference, probabilities=params.probabilities, trials=params.trials,
                        seed=params.seed, set_id=snakemake.wildcards.set, fuse_options=dict(params.fuse))
write_rows(rows, snakemake.output.csv)
logger.info("%d rows", len(rows))
