# Helpers of the ablation studies (rules/ablations.smk): their config, image sets, grid and outputs.
# Functions only, no rules (snakemake --lint asks rules and functions to live apart).

ABLATIONS = "results/experiments"
ABLATION_STUDIES = ("robustness", "window", "detector_ablation", "speed")


def _study(name):
    return config["experiments"][name]


def _study_sets(name):
    """(dataset, set) of a study's config `experiments.<name>.sets` (dataset -> set ids), checked at parse."""
    pairs = []
    for dataset, wanted in _study(name)["sets"].items():
        available = _all_set_ids(dataset)
        unknown = [s for s in wanted if s not in available]
        if unknown:
            raise ConfigError(
                f"config key experiments.{name}.sets.{dataset}: unknown set(s) {unknown}; {dataset} has {available}"
            )
        pairs += [(dataset, s) for s in wanted]
    return pairs


def _study_data(wildcards):
    """The data set's index (its files are made or downloaded by rules/data.smk)."""
    return [data_index(wildcards.dataset)]


def _fuse_options(variant=None):
    """Keyword arguments of mffssim.fuse from config `fusion` (the solver of the main run)."""
    options = {k: config["fusion"][k] for k in SOLVER_KEYS}
    if variant is not None:
        options["variant"] = variant
    return options


def detector_grid():
    from mffssim.workflow.experiments.detector_ablation import ablation_grid

    settings = _study("detector_ablation")
    return ablation_grid(settings["depths"], settings["widths"], settings["base_width"], settings["base_blocks"])


def detector_variant_settings(wildcards):
    """The DetectorConfig mapping of one grid point: config `detector` with its width, blocks, and the
    study's epochs and samples_per_epoch."""
    from mffssim.workflow.experiments.detector_ablation import variant_settings

    study = _study("detector_ablation")
    return variant_settings(
        detector_settings(),
        int(wildcards.width),
        int(wildcards.blocks),
        epochs=study["epochs"],
        samples_per_epoch=study["samples_per_epoch"],
    )


def _study_outputs(name):
    return [f"{ABLATIONS}/{name}/{name}.csv", f"{ABLATIONS}/{name}/{name}.png", f"{ABLATIONS}/{name}/summary.md"]


def ablation_targets():
    """Outputs of the ablation studies that the target `experiments` asks for."""
    return [path for name in ABLATION_STUDIES for path in _study_outputs(name)]


def ablation_summaries():
    """One summary.md per study (SUMMARY.md concatenates them)."""
    return [f"{ABLATIONS}/{name}/summary.md" for name in ABLATION_STUDIES]
