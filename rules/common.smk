# Shared by all stages: config validation, the data sets and their image sets, the methods of each
# set, wildcard constraints and input functions (no rules here).
import dataclasses
import functools
import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

# the package beside this workflow, also when it was not pip-installed
sys.path.insert(0, str(Path(workflow.basedir)))

# data sets, their image sets, detectors, fusers and method ids: one registry
from mffssim import registry  # noqa: E402

validate(config, schema="../schemas/config.schema.yaml")

DATA = config["data_dir"].rstrip("/")


class ConfigError(ValueError):
    """A config value that passed the schema but cannot be used (names the key)."""


# ------------------------------------------------------------------------------------ aligned data sets
# config `align.datasets`: each data set of `datasets` named there is also fused after registration
# (rules/align.smk), as the data set `<name>_aligned`; `folder.align: true` registers the `folder` sets in
# place.
ALIGNED_SUFFIX = "_aligned"
ALIGNED = {f"{name}{ALIGNED_SUFFIX}": name for name in config["align"]["datasets"] if name in config["datasets"]}


def base_dataset(dataset):
    """The data set an aligned one was made from (itself for the others)."""
    return ALIGNED.get(dataset, dataset)


def is_aligned(dataset):
    return dataset in ALIGNED or (dataset == "folder" and config["folder"]["align"])


def aligned_dir(dataset, set_id):
    """The folder of the registered frames (source_k.png) and their transforms.tsv (made by align_set)."""
    return f"{DATA}/aligned/{base_dataset(dataset)}/{set_id}"


def _alternation(names):
    return "|".join(sorted(names, key=len, reverse=True))


wildcard_constraints:
    dataset=_alternation(registry.DATASETS + tuple(ALIGNED)),
    base=_alternation(registry.DATASETS),
    downloadable=_alternation(registry.DOWNLOADABLE),
    set=r"[A-Za-z0-9_.-]+",
    detector=_alternation(registry.DETECTOR_NAMES),
    variant="paper|reference",
    kind=_alternation(registry.OFFICIAL_KINDS),
    method=registry.METHOD_ID,


# ---------------------------------------------------------------------------------------------- data sets
def find_image_sets(root):
    """mffssim.io.find_image_sets, imported only when the `folder` data set needs it (keeps -n fast)."""
    from mffssim.io import find_image_sets as find

    return find(root)


@functools.cache
def _folder_sets():
    """The image sets of the `folder` data set, discovered once per parse."""
    return find_image_sets(_folder_root())


def _folder_root():
    path = config["folder"]["path"]
    if not path:
        raise ConfigError(
            "config key folder.path: required when 'folder' is in datasets (a directory of <set>/source_k.* folders)"
        )
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ConfigError(f"config key folder.path: {root} is not a directory")
    return root


@functools.cache
def image_sets(dataset):
    """registry.ImageSet of every set of a data set (K, reference, focus map), known when the workflow is parsed.

    An aligned data set has its base's sets, without their annotated maps (drawn on the unregistered frames)."""
    if dataset in ALIGNED:
        return {s: dataclasses.replace(found, focus_map=False) for s, found in image_sets(ALIGNED[dataset]).items()}
    if dataset == "folder":
        found = registry.image_sets("folder", _folder_sets())
        if not found:
            raise ConfigError(f"config key folder.path: no <set>/source_1.*, source_2.* folders under {_folder_root()}")
        return found
    return registry.image_sets(dataset)


def _all_set_ids(dataset):
    """Every image-set id of a data set, known when the workflow is parsed (manifests, static lists)."""
    return list(image_sets(dataset))


def _selected_set_ids(dataset):
    """The sets to process: all of them, or the subset that config `sets.<dataset>` names."""
    available = _all_set_ids(dataset)
    wanted = config["sets"].get(dataset) or []
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise ConfigError(f"config key sets.{dataset}: unknown set(s) {unknown}; {dataset} has {available}")
    return [s for s in available if s in wanted] if wanted else available


SETS = {dataset: _selected_set_ids(dataset) for dataset in config["datasets"]}
SETS.update({aligned: SETS[base] for aligned, base in ALIGNED.items()})


def _check_config_values():
    """Values the schema lets through but no job could use, refused at parse time naming the key."""
    for key, methods in (
        ("figures.methods", config["figures"]["methods"]),
        ("experiments.multi_source.figure_methods", config["experiments"]["multi_source"]["figure_methods"]),
    ):
        unknown = [m for m in methods if not registry.is_method_id(str(m))]
        if unknown:
            raise ConfigError(
                f"config key {key}: unknown method id(s) {unknown} "
                "(ids look like mffssim_paper-lap, pixelwise-given, average, enfuse, official_ms_lap)"
            )
    mirror = config["download"]["mirror"]
    if mirror and not str(mirror).startswith(("http://", "https://", "file://")):
        if not Path(str(mirror)).expanduser().is_dir():
            raise ConfigError(
                f"config key download.mirror: {mirror} is neither a directory nor an http(s):// or file:// url"
            )


_check_config_values()


def set_dir(dataset, set_id):
    """Directory holding one image set's files (the registered frames for an aligned data set)."""
    if is_aligned(dataset):
        return aligned_dir(dataset, set_id)
    if dataset == "folder":
        return str(_folder_root() / set_id)
    return f"{DATA}/{dataset}/{set_id}"


def data_index(dataset):
    """The file the data rule writes once a data set is complete (its list of image sets)."""
    return f"{DATA}/{dataset}.sets.tsv"


def set_inputs(wildcards):
    """Input files of one image set: the data set's index, or for `folder` the user's files themselves;
    for an aligned data set, the registered frames' folder."""
    if is_aligned(wildcards.dataset):
        return {"data": aligned_dir(wildcards.dataset, wildcards.set)}
    return base_set_inputs(wildcards.dataset, wildcards.set)


def base_set_inputs(dataset, set_id):
    """Input files of one image set as downloaded or found (before any registration)."""
    dataset = base_dataset(dataset)
    if dataset == "folder":
        files = _folder_sets()[set_id]
        found = list(files.sources) + [p for p in (files.reference, files.focus_map) if p is not None]
        return {"data": [str(p) for p in found]}
    return {"data": data_index(dataset)}


def base_set_dir(dataset, set_id):
    """Directory of one image set as downloaded or found (before any registration)."""
    dataset = base_dataset(dataset)
    return str(_folder_root() / set_id) if dataset == "folder" else f"{DATA}/{dataset}/{set_id}"


def comparison_methods(dataset, set_id):
    """Other programs' published results on a set: {method id: the file's path, once downloaded}."""
    base = base_dataset(dataset)
    return {method: f"{DATA}/{base}/{dest}" for method, dest in registry.comparison_files(base, set_id).items()}


def _has_given_map(dataset, set_id):
    return image_sets(dataset)[set_id].focus_map


def _official_sets(dataset):
    """Sets of `dataset` the authors published results for."""
    return registry.official_sets(dataset)


# -------------------------------------------------------------------------------------------- methods
ENFUSE = shutil.which("enfuse")
if "enfuse" in config["fusion"]["methods"] and ENFUSE is None:
    logger.info("fusion.methods: 'enfuse' skipped, the enfuse program is not on PATH (Debian package enfuse)")


def _which(program):
    """shutil.which, looked up once per parse for enfuse."""
    return ENFUSE if program == "enfuse" else shutil.which(program)


@functools.cache
def method_plan(dataset, set_id):
    """{method: None, or why it is skipped} of every method the config asks for on one image set (registry.set_methods)."""
    plan = registry.set_methods(
        config["fusion"]["methods"], config["focus"]["detectors"], image_sets(dataset)[set_id], which=_which
    )
    return plan


def methods_for(dataset, set_id):
    """Method ids of one image set, in config order: <fuser>-<detector> for map-based fusers, then the rest."""
    planned = [method for method, reason in method_plan(dataset, set_id).items() if reason is None]
    return planned + own_methods(dataset, set_id)  # the user's own images (config ranking.own)


def skipped_methods(dataset, set_ids=None):
    """{method: reason} of every configured method that a data set's sets (default: the selected ones) skip."""
    set_ids = SETS[dataset] if set_ids is None else set_ids
    return registry.skipped_methods({s: method_plan(dataset, s) for s in set_ids})


def dataset_methods(dataset):
    """Union of the methods of a data set's sets, in first-seen order."""
    seen = {}
    for set_id in SETS[dataset]:
        for method in methods_for(dataset, set_id):
            seen.setdefault(method, None)
    return list(seen)


def index_detector(dataset, set_id):
    """Detector whose map scores every method with the MFF-SSIM index (lap where `given` is missing)."""
    wanted = config["metrics"]["index_detector"]
    if wanted == "given" and not _has_given_map(dataset, set_id):
        return "lap"
    return wanted


def needs_official(dataset):
    return "official" in config["fusion"]["methods"] and bool(_official_sets(dataset))


# --------------------------------------------------------------------- the MFF-SSIM solver's params
# keyword arguments of mffssim.fuse that come from config `fusion`
SOLVER_KEYS = ("optimizer", "lr", "iterations", "tol", "init", "keep", "device", "dtype", "engine", "max_memory_mb")
# what a fuse job asks the scheduler for without a budget (config fusion.max_memory_mb), and beside one
FUSE_MEM_MB = 4000


def fuse_mem_mb():
    """mem_mb of the MFF-SSIM fuse rules: config fusion.max_memory_mb (MiB, as MB rounded up) where set."""
    budget = config["fusion"]["max_memory_mb"]
    return FUSE_MEM_MB if budget is None else math.ceil(budget * 1.048576)


def solver_params(**overrides):
    """The params of the MFF-SSIM solver's rules (scripts/fuse_mffssim.py and detector_fuse.py read them), the
    window of config `focus` and the solver of config `fusion`, with `overrides` replacing or adding values.
    Used as `**solver_params(...)` among a rule's other params, so each value is its own param and changing
    one reruns exactly the rules that use it."""
    params = {"window_ratio": config["focus"]["window_ratio"], "window_cap": config["focus"]["window_cap"]}
    params.update({key: config["fusion"][key] for key in SOLVER_KEYS})
    params.update(overrides)
    return params


# ----------------------------------------------------------------------- the ResNet detector (rules/detector.smk)
DETECTOR_DIR = "results/detector"


DETECTOR_DOWNLOADS = ("voc_seg_samples", "mf_voc_subset", "nyu_d_100")  # training sources the run downloads


def detector_sources():
    """The training sources of config detector.source, as a list."""
    source = config["detector"]["source"]
    return [source] if isinstance(source, str) else list(source)


def detector_settings():
    """The DetectorConfig mapping of config `detector:` (workflow-only keys left out, each source's root resolved)."""
    workflow_only = ("threads", "device", "tile", "voc2012_root", "folder_root", "weights")
    settings = {k: v for k, v in config["detector"].items() if k not in workflow_only}
    roots = {s: f"{DATA}/{s}" for s in detector_sources() if s in DETECTOR_DOWNLOADS}
    for source, key, what in (
        ("voc2012", "voc2012_root", "the folder holding VOCdevkit/"),
        ("folder", "folder_root", "the folder of images"),
    ):
        if source in detector_sources():
            root = config["detector"][key]
            if not root:
                raise ConfigError(f"config key detector.{key}: required when detector.source has '{source}' ({what})")
            roots[source] = str(Path(root).expanduser())
    settings["root"] = roots or None
    return settings


def detector_trains():
    """Whether the run trains its own detector (config detector.weights: train) rather than taking a file."""
    return config["detector"]["weights"] == "train"


def detector_weights():
    """The weights file the ResNet rules map with: results/detector/weights.pt when the run trains, the
    package's own (mffssim/detector/weights/focusnet.pt) for `shipped`, else the file config
    detector.weights names (ours, or the authors' block8_feat128.pth)."""
    if detector_trains():
        return f"{DETECTOR_DIR}/weights.pt"
    if config["detector"]["weights"] == "shipped":
        from mffssim.detector.shipped import shipped_weights

        try:
            return str(shipped_weights())
        except FileNotFoundError as error:
            raise ConfigError(f"config key detector.weights: shipped, but {error}") from None
    path = Path(config["detector"]["weights"]).expanduser()
    if not path.is_file():
        raise ConfigError(f"config key detector.weights: {path}: no such weights file (or use 'train')")
    return str(path)


@functools.lru_cache(maxsize=None)
def _file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def detector_weights_sha256():
    """sha256 of a given weights file (a map rule's param, so other weights rerun the maps); trained weights
    are a rule's output, which reruns the maps by itself."""
    return None if detector_trains() else _file_sha256(detector_weights())


def detector_training_data(wildcards):
    """The downloaded data sets the detector trains on (VOC samples, MF-VOC, NYU-D-100); nothing otherwise."""
    return [data_index(s) for s in detector_sources() if s in DETECTOR_DOWNLOADS]


def resnet_used():
    """Whether any output of the run needs the trained network."""
    return "resnet" in config["focus"]["detectors"] or config["metrics"]["index_detector"] == "resnet"


# ------------------------------------------------------------------------------------ input functions
def metric_files(wildcards):
    return [f"results/{wildcards.dataset}/{s}/metrics.json" for s in SETS[wildcards.dataset]]


def panel_methods(dataset, set_id):
    chosen = config["figures"]["methods"]
    methods = methods_for(dataset, set_id)
    if not chosen:  # ranking: the 30 published results appear in a panel only when figures.methods names them
        methods = [m for m in methods if m not in registry.PUBLISHED_BY_ID]
    return [m for m in methods if m in chosen] if chosen else methods


def trace_files(wildcards):
    return [
        f"results/{wildcards.dataset}/{s}/{m}/trace.csv"
        for s in SETS[wildcards.dataset]
        for m in methods_for(wildcards.dataset, s)
        if m.startswith("mffssim_")
    ]


def final_outputs():
    """Everything the target `all` asks for: a table per data set, a panel per set, a convergence plot per data set."""
    targets = []
    for dataset, set_ids in SETS.items():
        targets += [f"results/tables/{dataset}.csv", f"results/tables/{dataset}.md"]
        targets += [f"results/figures/{dataset}/panel_{s}.png" for s in set_ids]
        if any(m.startswith("mffssim_") for m in dataset_methods(dataset)):
            targets.append(f"results/figures/{dataset}/convergence.png")
    if resnet_used() and detector_trains():  # the detector's loss curve and held-out evaluation (rules/detector.smk)
        targets += [f"{DETECTOR_DIR}/loss.png", f"{DETECTOR_DIR}/evaluation.csv", f"{DETECTOR_DIR}/evaluation.md"]
    return targets


def check_detectors():
    """Fail early when a detector is asked for that no rule provides (resnet before the detector rules)."""
    wanted = set(config["focus"]["detectors"]) | {config["metrics"]["index_detector"]}
    if "resnet" in wanted and not RESNET_RULES:
        raise ConfigError(
            "config key focus.detectors: 'resnet' needs the detector rules (rules/detector.smk), which this version lacks"
        )
    # a detector trained on images the run also fuses and scores would make their -resnet rows in-sample
    in_sample = [s for s in detector_sources() if s in ("mf_voc_subset", "nyu_d_100") and s in config["datasets"]]
    if "resnet" in wanted and detector_trains() and in_sample:
        raise ConfigError(
            f"config key detector.source: the detector would train on {in_sample}, which `datasets` also fuses and scores "
            "(their -resnet rows would be in-sample); train on other images or use detector.weights: shipped"
        )
