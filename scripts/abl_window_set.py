"""Rule abl_window_set: one image set fused at every window ratio alpha, both variants (Figs. 9-11)."""
from _wf import load_image_set, start

logger = start(snakemake)

from mffssim.kernels import set_threads
from mffssim.workflow.experiments.report_io import write_rows
from mffssim.workflow.experiments.window import window_study

set_threads(snakemake.threads)
params = snakemake.params
if params.set_dir is None:  # embedded: made in memory at the study's own size (wider windows than the default run's)
    from mffssim.datasets import make_embedded_set

    made = make_embedded_set(snakemake.wildcards.set, seed=params.embedded["seed"], size=params.embedded["size"])
    sources, reference = made.sources, made.reference
else:
    _, sources, _, reference = load_image_set(params.set_dir, reference=True)
logger.info("%s: sources %s, reference %s, alphas %s", snakemake.wildcards.set, sources.shape, reference is not None,
            params.ratios)
rows = window_study(sources, reference, ratios=params.ratios, variants=params.variants, metrics=params.metrics,
                    set_id=snakemake.wildcards.set, fuse_options=dict(params.fuse))
for row in rows:
    logger.info("alpha %.1e W %d %s: %.1f ms/iteration", row["alpha"], row["window"], row["variant"], row["ms_per_iteration"])
write_rows(rows, snakemake.output.csv)
