# Shared by all stages: config validation, the data sets and their image sets, the methods of each
# set, wildcard constraints and input functions (no rules here).
import functools
import shutil
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

# the package beside this workflow, also when it was not pip-installed
sys.path.insert(0, str(Path(workflow.basedir)))


validate(config, schema="../schemas/config.schema.yaml")

DATA = config["data_dir"].rstrip("/")
DOWNLOADABLE = (
    "mffw",
    "lytro",
    "grayscale",
    "mfifb",
    "nyu_d_100",
    "mf_voc_subset",
    "mffssim_examples",
    "mffssim_official_results",
    "voc_seg_samples",
)
# data sets whose sets the authors published MS-Lap / MS-ResNet results for (mffssim_official_results)
OFFICIAL_DATASETS = ("mffw", "lytro", "grayscale")
OFFICIAL_KINDS = ("ms_lap", "ms_resnet")
MAP_FUSERS = ("mffssim_paper", "mffssim_reference", "mffssim_paper_long", "pixelwise")
# map-based fusers without an MS-ResNet rule: they take the lap and given maps only
NO_RESNET = ("mffssim_paper_long",)
DETECTORS = ("lap", "given", "resnet")


class ConfigError(ValueError):
    """A config value that passed the schema but cannot be used (names the key)."""


# method ids as the results name them: the `method` wildcard and the check of figures.methods
METHOD_ID = r"(?:(?:mffssim_paper|mffssim_reference|pixelwise)-(?:lap|given|resnet)|mffssim_paper_long-(?:lap|given)|average|enfuse|official_ms_lap|official_ms_resnet)"

# ------------------------------------------------------------ ranking (issue 13): names to move to the registry
# The published-method family (`published` in fusion.methods: published_<name>, MFIFB's 30 methods), a user's
# own fused images (config ranking.own: own_<name>) and their auxiliary download `mfifb_results`. The names are
# declared in the marked block of mffssim/workflow/ranking.py; functions in rules/ranking_common.smk.
from mffssim.workflow.ranking import OWN_ID, PUBLISHED_ID, PUBLISHED_RESULTS

DOWNLOADABLE = DOWNLOADABLE + (PUBLISHED_RESULTS,)
METHOD_ID = rf"(?:{METHOD_ID}|{PUBLISHED_ID}|{OWN_ID})"
# ------------------------------------------------------------------------------------------------ end ranking


def _alternation(names):
    return "|".join(sorted(names, key=len, reverse=True))


wildcard_constraints:
    dataset=_alternation(("embedded", "folder") + DOWNLOADABLE),
    downloadable=_alternation(DOWNLOADABLE),
    set=r"[A-Za-z0-9_.-]+",
    detector=_alternation(DETECTORS),
    variant="paper|reference",
    kind=_alternation(OFFICIAL_KINDS),
    method=METHOD_ID,


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
        raise ConfigError("config key folder.path: required when 'folder' is in datasets (a directory of <set>/source_k.* folders)")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ConfigError(f"config key folder.path: {root} is not a directory")
    return root


def _all_set_ids(dataset):
    """Every image-set id of a data set, known when the workflow is parsed (manifests, static lists)."""
    if dataset == "embedded":
        from mffssim.datasets import EMBEDDED_SETS

        return list(EMBEDDED_SETS)
    if dataset == "folder":
        found = list(_folder_sets())
        if not found:
            raise ConfigError(f"config key folder.path: no <set>/source_1.*, source_2.* folders under {_folder_root()}")
        return found
    from mffssim.datasets import dataset_set_ids

    return list(dataset_set_ids(dataset))


def _selected_set_ids(dataset):
    """The sets to process: all of them, or the subset that config `sets.<dataset>` names."""
    available = _all_set_ids(dataset)
    wanted = config["sets"].get(dataset) or []
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise ConfigError(f"config key sets.{dataset}: unknown set(s) {unknown}; {dataset} has {available}")
    return [s for s in available if s in wanted] if wanted else available


SETS = {dataset: _selected_set_ids(dataset) for dataset in config["datasets"]}


def _check_config_values():
    """Values the schema lets through but no job could use, refused at parse time naming the key."""
    import re

    unknown = [m for m in config["figures"]["methods"] if not re.fullmatch(METHOD_ID, str(m))]
    if unknown:
        raise ConfigError(
            f"config key figures.methods: unknown method id(s) {unknown} "
            "(ids look like mffssim_paper-lap, pixelwise-given, average, enfuse, official_ms_lap)"
        )
    mirror = config["download"]["mirror"]
    if mirror and not str(mirror).startswith(("http://", "https://", "file://")):
        if not Path(str(mirror)).expanduser().is_dir():
            raise ConfigError(f"config key download.mirror: {mirror} is neither a directory nor an http(s):// or file:// url")


_check_config_values()


def set_dir(dataset, set_id):
    """Directory holding one image set's files."""
    if dataset == "folder":
        return str(_folder_root() / set_id)
    return f"{DATA}/{dataset}/{set_id}"


def data_index(dataset):
    """The file the data rule writes once a data set is complete (its list of image sets)."""
    return f"{DATA}/{dataset}.sets.tsv"


def set_inputs(wildcards):
    """Input files of one image set: the data set's index, or for `folder` the user's files themselves."""
    if wildcards.dataset == "folder":
        files = _folder_sets()[wildcards.set]
        found = list(files.sources) + [p for p in (files.reference, files.focus_map) if p is not None]
        return {"data": [str(p) for p in found]}
    return {"data": data_index(wildcards.dataset)}


def _has_given_map(dataset, set_id):
    if dataset == "embedded":
        return True  # synthetic sets carry their exact map
    if dataset == "folder":
        return _folder_sets()[set_id].focus_map is not None
    return any(
        Path(dest).parent.name == set_id and Path(dest).stem == "focus_map"
        for dest in _manifest_dests(dataset)
    )


@functools.cache
def _manifest_dests(name):
    from mffssim.datasets import load_manifest

    return tuple(entry.dest for entry in load_manifest(name))


@functools.cache
def _official_sets(dataset):
    """Sets of `dataset` the authors published results for."""
    if dataset == "mfifb":  # ranking: MFIFB's JPEG mffw_NN pairs are MFFW's mffw2_NN (official_result_dir)
        return {s.replace("mffw2_", "mffw_", 1) for s in _official_sets("mffw")}
    if dataset not in OFFICIAL_DATASETS:
        return set()
    return {Path(d).parent.name for d in _manifest_dests("mffssim_official_results") if d.startswith(f"{dataset}/")}


# -------------------------------------------------------------------------------------------- methods
ENFUSE = shutil.which("enfuse")
if "enfuse" in config["fusion"]["methods"] and ENFUSE is None:
    logger.info("fusion.methods: 'enfuse' skipped, the enfuse program is not on PATH (Debian package enfuse)")


def methods_for(dataset, set_id):
    """Method ids of one image set, in config order: <fuser>-<detector> for map-based fusers, then the rest."""
    detectors = [
        d for d in config["focus"]["detectors"] if d != "given" or _has_given_map(dataset, set_id)
    ]
    methods = []
    for fuser in config["fusion"]["methods"]:
        if fuser in MAP_FUSERS:
            methods += [f"{fuser}-{d}" for d in detectors if not (d == "resnet" and fuser in NO_RESNET)]
        elif fuser == "average":
            methods.append("average")
        elif fuser == "enfuse" and ENFUSE is not None:
            methods.append("enfuse")
        elif fuser == "official" and set_id in _official_sets(dataset):
            methods += [f"official_{kind}" for kind in OFFICIAL_KINDS]
        elif fuser == "published":  # ranking: rules/ranking_common.smk
            methods += published_methods(dataset, set_id)
    return methods + own_methods(dataset, set_id)  # ranking: the user's own images (ranking.own)


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


# ----------------------------------------------------------------------- the ResNet detector (rules/detector.smk)
DETECTOR_DIR = "results/detector"


def detector_settings():
    """The DetectorConfig mapping of config `detector:` (workflow-only keys left out, the VOC root resolved)."""
    settings = {k: v for k, v in config["detector"].items() if k not in ("threads", "device", "tile", "voc2012_root")}
    if settings["source"] == "voc_seg_samples":
        settings["root"] = f"{DATA}/voc_seg_samples"
    elif settings["source"] == "voc2012":
        root = config["detector"]["voc2012_root"]
        if not root:
            raise ConfigError("config key detector.voc2012_root: required when detector.source is 'voc2012' (the folder holding VOCdevkit/)")
        settings["root"] = str(Path(root).expanduser())
    return settings


def detector_training_data(wildcards):
    """The downloaded VOC samples when the detector trains on them; nothing otherwise."""
    return [data_index("voc_seg_samples")] if config["detector"]["source"] == "voc_seg_samples" else []


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
        methods = [m for m in methods if not m.startswith("published_")]
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
    if resnet_used():  # the detector's loss curve and held-out evaluation (rules/detector.smk)
        targets += [f"{DETECTOR_DIR}/loss.png", f"{DETECTOR_DIR}/evaluation.csv", f"{DETECTOR_DIR}/evaluation.md"]
    return targets


def check_detectors():
    """Fail early when a detector is asked for that no rule provides (resnet before the detector rules)."""
    wanted = set(config["focus"]["detectors"]) | {config["metrics"]["index_detector"]}
    if "resnet" in wanted and not RESNET_RULES:
        raise ConfigError("config key focus.detectors: 'resnet' needs the detector rules (rules/detector.smk), which this version lacks")
