# Helpers of rules/experiments.smk (kept apart from its rules, as rules/common.smk is for the main stages):
# which sets each experiment takes, K per set, the run's facts for the summary.

EXPERIMENTS = "results/experiments"
# the agreement's own solver settings (config experiments.agreement), over those of config `fusion`
AGREEMENT_SOLVER_KEYS = ("variant", "optimizer", "lr", "iterations", "tol", "keep", "dtype")


def n_sources(dataset, set_id):
    """K of an image set, known when the workflow is parsed (registry.image_sets)."""
    return image_sets(dataset)[set_id].n_sources


def table1_datasets():
    """Data sets of `datasets` that get a Table I (config experiments.table1.datasets) and have pairs."""
    wanted = config["experiments"]["table1"]["datasets"]
    return [d for d in SETS if d in wanted and table1_sets(d)]


def table1_sets(dataset):
    """The selected two-source sets of a data set (Table I is over pairs; K > 2 sets have their own table)."""
    return [s for s in SETS[dataset] if n_sources(dataset, s) == 2]


def table1_methods(dataset):
    seen = {}
    for set_id in table1_sets(dataset):
        for method in methods_for(dataset, set_id):
            seen.setdefault(method, None)
    return list(seen)


def agreement_pairs():
    """(dataset, set) of every published pair the agreement fuses: config experiments.agreement.sets, or all."""
    settings = config["experiments"]["agreement"]
    pairs = []
    for dataset in settings["datasets"]:
        published = sorted(_official_sets(dataset))
        wanted = settings["sets"].get(dataset) or []
        unknown = [s for s in wanted if s not in published]
        if unknown:
            raise ConfigError(
                f"config key experiments.agreement.sets.{dataset}: {unknown} not among the authors' published pairs {published}"
            )
        pairs += [(dataset, s) for s in published if not wanted or s in wanted]
    return pairs


def agreement_reuses_main():
    """Whether the main workflow's MS-Lap (mffssim_reference-lap) already is the agreement's fusion (same
    variant, solver and precision, as at the paper's scale), so the pairs are not fused twice."""
    settings, fusion = config["experiments"]["agreement"], config["fusion"]
    return (
        settings["variant"] == "reference"
        and "mffssim_reference" in fusion["methods"]
        and "lap" in config["focus"]["detectors"]
        and fusion["init"] == "mean"
        and all(settings[k] == fusion[k] for k in ("optimizer", "lr", "iterations", "tol", "keep", "dtype"))
    )


def agreement_fused(dataset, set_id):
    """Our fused image of a published pair: the main workflow's MS-Lap where it has the agreement's settings."""
    if agreement_reuses_main():
        return f"results/{dataset}/{set_id}/mffssim_reference-lap/fused.png"
    return f"{EXPERIMENTS}/agreement/{dataset}/{set_id}/fused.png"


def detector_agreement_pairs():
    """(dataset, set) of every published pair whose maps are compared with the authors' (none when the run
    has no ResNet detector); the tuning half named in config must be among them."""
    if "resnet" not in config["focus"]["detectors"]:
        return []
    settings = config["experiments"]["detector_agreement"]
    pairs = []
    for dataset in settings["datasets"]:
        published = sorted(_official_sets(dataset))
        unknown = [s for s in settings["tune"].get(dataset) or [] if s not in published]
        if unknown:
            raise ConfigError(
                f"config key experiments.detector_agreement.tune.{dataset}: {unknown} not among the authors' published pairs {published}"
            )
        pairs += [(dataset, s) for s in published]
    return pairs


def detector_agreement_inputs(wildcards):
    """Per pair: the data, our ResNet and Laplacian maps, the authors' MS-ResNet and MS-Lap maps."""
    pairs = detector_agreement_pairs()
    return {
        "data": sorted({data_index(d) for d, _ in pairs}),
        "resnet": [f"results/{d}/{s}/maps/resnet.png" for d, s in pairs],
        "lap": [f"results/{d}/{s}/maps/lap.png" for d, s in pairs],
        "their_resnet": [f"results/{d}/{s}/official_ms_resnet/focus_map.png" for d, s in pairs],
        "their_lap": [f"results/{d}/{s}/official_ms_lap/focus_map.png" for d, s in pairs],
    }


def detector_description():
    """The detector the run maps with, for the agreement table: the weights file, or the training settings."""
    if not detector_trains():
        return {"weights": config["detector"]["weights"], "sha256": detector_weights_sha256()}
    keys = ("source", "width", "blocks", "crop", "epochs", "samples_per_epoch", "lr", "seed")
    return {"weights": "trained by this run"} | {k: config["detector"][k] for k in keys}


def multi_source_sets():
    """(dataset, set) of every selected K > 2 set of the data sets in experiments.multi_source.datasets."""
    wanted = config["experiments"]["multi_source"]["datasets"]
    return [(d, s) for d in SETS if d in wanted for s in SETS[d] if n_sources(d, s) > 2]


def multi_source_figure_methods(dataset, set_id):
    chosen = config["experiments"]["multi_source"]["figure_methods"]
    return [m for m in chosen if m in methods_for(dataset, set_id)]


def experiment_outputs():
    """Everything this file's part of the target `experiments` asks for, SUMMARY.md last."""
    targets = [f"{EXPERIMENTS}/table1/{d}.{ext}" for d in table1_datasets() for ext in ("md", "csv")]
    if agreement_pairs():
        targets += [f"{EXPERIMENTS}/agreement/agreement.md"]
    if detector_agreement_pairs():
        targets += [f"{EXPERIMENTS}/detector_agreement/agreement.md"]
    if multi_source_sets():
        targets += [f"{EXPERIMENTS}/multi_source/table.md", f"{EXPERIMENTS}/multi_source/figure.png"]
    return targets + [f"{EXPERIMENTS}/SUMMARY.md"]


def _ablation(name):
    """ablation_targets / ablation_summaries of rules/ablations.smk, or nothing where it lacks them."""
    function = globals().get(name)
    return list(function()) if function is not None else []


def detector_facts():
    """Source, size and schedule of the ResNet detector the run maps with: config `detector` when it trains,
    the record shipped beside the package's weights, or (another file) its network's size, schedule unknown."""
    keys = ("source", "width", "blocks", "epochs", "samples_per_epoch")
    if detector_trains():
        return {k: config["detector"][k] for k in keys}
    path = Path(detector_weights())
    record = path.parent / "focusnet.json"
    if config["detector"]["weights"] == "shipped" and record.is_file():
        return {k: json.loads(record.read_text())["training_config"][k] for k in keys}
    from mffssim.detector.train import load_model

    model = load_model(path, "cpu")
    if model.gray == "bt601":  # the authors' weights: their training, the paper's schedule on VOC 2012
        return {
            "source": f"the authors' {path.name} (VOC 2012)",
            "width": model.width,
            "blocks": model.blocks,
            "epochs": 50,
            "samples_per_epoch": 2913,
        }
    return {
        "source": f"the file {path.name}",
        "width": model.width,
        "blocks": model.blocks,
        "epochs": 0,
        "samples_per_epoch": 0,
    }


def run_facts():
    """What the run used and how it is cut down, for the summary's differences (mffssim.workflow.experiments.summary)."""
    agreement = config["experiments"]["agreement"]
    published = {d: len(_official_sets(d)) for d in agreement["datasets"]}
    used = {d: sum(1 for ds, _ in agreement_pairs() if ds == d) for d in agreement["datasets"]}
    return {
        "fusion": {k: config["fusion"][k] for k in ("optimizer", "lr", "iterations", "tol")},
        "detector": detector_facts(),
        "detectors": list(config["focus"]["detectors"]),
        "table1_sets": {
            d: [len(table1_sets(d)), sum(1 for s in _all_set_ids(d) if n_sources(d, s) == 2)] for d in table1_datasets()
        },
        "agreement": {k: agreement[k] for k in ("variant", "optimizer", "lr", "iterations", "tol", "dtype")},
        "agreement_pairs": {d: [used[d], published[d]] for d in agreement["datasets"]},
        "multi_source_sets": [f"{d}/{s}" for d, s in multi_source_sets()],
    }
