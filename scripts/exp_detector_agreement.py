"""Rule experiment_detector_agreement: our ResNet and Laplacian maps against the authors' published MS-ResNet
and MS-Lap maps, per pair and per data set (mffssim.workflow.experiments.detector_agreement)."""
from _wf import load_image_set, start

logger = start(snakemake)

from mffssim import read_focus_map
from mffssim.workflow.experiments.detector_agreement import pair_record, split_of, write_detector_agreement

inputs, params = snakemake.input, snakemake.params
records = []
for index, ((dataset, set_id), set_dir) in enumerate(zip(params.pairs, params.set_dirs)):
    sources = load_image_set(set_dir).sources
    maps = {
        name: read_focus_map(getattr(inputs, name)[index], 2, shape=sources.shape[1:3])
        for name in ("resnet", "lap", "their_resnet", "their_lap")
    }
    record = pair_record(dataset, set_id, sources, maps, split=split_of(dataset, set_id, params.tune))
    logger.info("%s/%s: ResNet %.2f %% (informative %.2f %%), Laplacian %.2f %%", dataset, set_id,
                record["resnet_all"], record["resnet_informative"], record["lap_all"])
    records.append(record)
summary = write_detector_agreement(records, snakemake.output.csv, snakemake.output.means, snakemake.output.md,
                                   settings=dict(params.detector))
for row in summary:
    logger.info("%s %s: ResNet informative mean %.2f %% min %.2f %%", row["dataset"], row["split"],
                row["resnet_informative_mean"], row["resnet_informative_min"])
