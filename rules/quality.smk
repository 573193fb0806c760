# The ground-truth quality benchmark (target `quality`, config/quality.yaml): every method of the main
# workflow scored against the all-in-focus reference, pair by pair, on the selected data sets that have
# references. It reuses the main workflow's rules (maps, fusion, metrics.json per set, fusion.json per
# MFF-SSIM image) and only aggregates them (mffssim/quality.py): results/quality/<dataset>/pairs.csv (one row
# per pair and method), summary.md (mean, median, pairs below pixel-wise, the five worst pairs), psnr.png.

QUALITY = "results/quality"
QUALITY_METRICS = ("psnr", "ssim", "fsim")


def _has_reference(dataset, set_id):
    """Whether an image set has an all-in-focus reference (known at parse time)."""
    if dataset == "embedded":
        return True  # the synthetic sets are made from their reference
    if dataset == "folder":
        return _folder_sets()[set_id].reference is not None
    return any(Path(d).parent.name == set_id and Path(d).stem == "reference" for d in _manifest_dests(dataset))


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
        raise ConfigError(f"config key metrics.names: the quality target needs {list(QUALITY_METRICS)} (or [] for all); {lacking} missing")
    if "pixelwise" not in config["fusion"]["methods"]:
        raise ConfigError("config key fusion.methods: the quality target compares MFF-SSIM with pixelwise; add it")
    datasets = quality_datasets()
    if not datasets:
        raise ConfigError(f"config key datasets: none of {list(SETS)} has image sets with an all-in-focus reference")
    skipped = [d for d in SETS if d not in datasets]
    if skipped:
        logger.info(f"quality: {skipped} skipped (no selected set has a reference)")
    return [f"{QUALITY}/{d}/{name}" for d in datasets for name in ("pairs.csv", "summary.md", "psnr.png")]


rule quality_dataset:
    input:
        metrics=lambda wc: [f"results/{wc.dataset}/{s}/metrics.json" for s in quality_sets(wc.dataset)],
        fusion=lambda wc: quality_fusion_files(wc.dataset),
    output:
        csv=report(
            f"{QUALITY}/{{dataset}}/pairs.csv",
            caption="../report/quality_pairs.rst",
            category="Quality",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "output": "per-pair table"},
        ),
        md=report(
            f"{QUALITY}/{{dataset}}/summary.md",
            caption="../report/quality_summary.rst",
            category="Quality",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "output": "summary"},
        ),
        figure=report(
            f"{QUALITY}/{{dataset}}/psnr.png",
            caption="../report/quality_figure.rst",
            category="Quality",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "output": "PSNR against pixel-wise"},
        ),
    params:
        methods=lambda wc: quality_methods(wc.dataset),
        title=lambda wc: f"{wc.dataset}: quality against the all-in-focus reference, {len(quality_sets(wc.dataset))} image sets",
    log:
        "logs/quality/{dataset}.log",
    benchmark:
        "results/benchmarks/quality/{dataset}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/mffssim.yaml"
    script:
        "../scripts/quality.py"


rule quality:
    input:
        lambda wc: quality_outputs(),
