# Helpers of rules/quality.smk (kept apart from its rules, as rules/common.smk is for the main stages):
# which sets have a reference, the methods and solver records to aggregate, the target's outputs.

QUALITY = "results/quality"
QUALITY_METRICS = ("psnr", "ssim", "fsim")


def _has_reference(dataset, set_id):
    """Whether an image set has an all-in-focus reference (known at parse time, registry.image_sets)."""
    return image_sets(dataset)[set_id].reference


def quality_sets(dataset):
    """The selected sets of a data set that have a reference."""
    return [s for s in SETS[dataset] if _has_reference(dataset, s)]


def quality_datasets():
    """Data sets of `datasets` with at least one selected set that has a reference."""
    return [d for d in SETS if quality_sets(d)]


def quality_methods(dataset):
    seen = {}
    for set_id in quality_sets(dataset):
        for method in methods_for(dataset, set_id):
            seen.setdefault(method, None)
    return list(seen)


def quality_fusion_files(dataset):
    """fusion.json of every MFF-SSIM image of the data set's quality sets (the solver's record)."""
    return [
        f"results/{dataset}/{s}/{m}/fusion.json"
        for s in quality_sets(dataset)
        for m in methods_for(dataset, s)
        if m.startswith("mffssim_")
    ]


def quality_outputs():
    """Everything the target `quality` asks for; refuses a config the benchmark cannot use, naming the key."""
    names = config["metrics"]["names"]
    lacking = [m for m in QUALITY_METRICS if names and m not in names]
    if lacking:
        raise ConfigError(
            f"config key metrics.names: the quality target needs {list(QUALITY_METRICS)} (or [] for all); {lacking} missing"
        )
    if "pixelwise" not in config["fusion"]["methods"]:
        raise ConfigError("config key fusion.methods: the quality target compares MFF-SSIM with pixelwise; add it")
    datasets = quality_datasets()
    if not datasets:
        raise ConfigError(f"config key datasets: none of {list(SETS)} has image sets with an all-in-focus reference")
    skipped = [d for d in SETS if d not in datasets]
    if skipped:
        logger.info(f"quality: {skipped} skipped (no selected set has a reference)")
    return [f"{QUALITY}/{d}/{name}" for d in datasets for name in ("pairs.csv", "summary.md", "psnr.png")]
