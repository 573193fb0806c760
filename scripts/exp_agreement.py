"""Rule experiment_agreement: our MS-Lap (authors' settings) against the authors' published MS-Lap images
and maps, per pair and per data set (mffssim.workflow.experiments.agreement)."""
from _wf import start

logger = start(snakemake)

from mffssim import read_focus_map, read_image
from mffssim.workflow.experiments.agreement import agreement_table, pair_agreement, write_agreement

inputs = snakemake.input
records = []
for (dataset, set_id), fused, our_map, official, official_map in zip(
    snakemake.params.pairs, inputs.fused, inputs.focus_map, inputs.official, inputs.official_map
):
    ours, theirs = read_image(fused), read_image(official)
    count = 2  # the authors published pairs only
    record = pair_agreement(
        dataset, set_id, ours, theirs,
        read_focus_map(our_map, count, shape=ours.shape[:2]), read_focus_map(official_map, count, shape=ours.shape[:2]),
    )
    logger.info("%s/%s: PSNR %.2f dB, map agreement %.3f %%", dataset, set_id, record["psnr"], record["map_agreement"])
    records.append(record)
write_agreement(agreement_table(records), snakemake.output.csv, snakemake.output.means, snakemake.output.md,
                settings=dict(snakemake.params.settings))
