# Functions of the ranking (issue 13) and of the per-method metrics (no rules here): the published methods of
# a set (from the mfifb_results manifest), the user's own fused images (config ranking.own), the inputs that
# assemble a set's metrics.json, and the data sets that get a ranking.
from mffssim.workflow.ranking import PUBLISHED_DATASETS, PUBLISHED_FAMILY, own_file, published_files


@functools.cache
def _published_index():
    """pair -> {published method id: dest inside mfifb_results}, from the manifest (nothing downloaded)."""
    return published_files(_manifest_dests(PUBLISHED_RESULTS))


def published_methods(dataset, set_id):
    """The published_* methods MFIFB has results of for this set (none outside lytro and mfifb)."""
    if PUBLISHED_FAMILY not in config["fusion"]["methods"] or dataset not in PUBLISHED_DATASETS:
        return []
    return list(_published_index().get(set_id, {}))


def published_dests(dataset, set_id):
    """{method id: path} of the set's published results, under data_dir."""
    return {m: f"{DATA}/{PUBLISHED_RESULTS}/{dest}" for m, dest in _published_index().get(set_id, {}).items()
            if m in published_methods(dataset, set_id)}


def published_pair_index(wildcards):
    """The download of one pair's published results (rule download_published_pair)."""
    return f"{DATA}/{PUBLISHED_RESULTS}/{wildcards.set}.index.tsv"


def own_method():
    """own_<name> when config ranking.own.dir is set, else None."""
    own = config["ranking"]["own"]
    return f"own_{own['name']}" if own["dir"] else None


def _own_root():
    root = Path(str(config["ranking"]["own"]["dir"])).expanduser()
    if not root.is_dir():
        raise ConfigError(f"config key ranking.own.dir: {root} is not a directory (lay out <dir>/<dataset>/<set>.png)")
    return root


@functools.cache
def own_path(dataset, set_id):
    """The user's fused image of a set (<dir>/<dataset>/<set>.<ext>), or None."""
    if own_method() is None:
        return None
    found = own_file(_own_root(), dataset, set_id)
    return str(found) if found is not None else None


def own_methods(dataset, set_id):
    return [own_method()] if own_path(dataset, set_id) is not None else []


def own_missing(dataset):
    """Selected sets of a data set that the user's folder has no image for."""
    if own_method() is None:
        return []
    return [s for s in SETS[dataset] if own_path(dataset, s) is None]


def official_result_dir(dataset, set_id):
    """Folder of the authors' published images of a set (MFIFB's JPEG mffw_NN: the TIFF mffw2_NN's)."""
    if dataset == "mfifb":
        return f"{DATA}/mffssim_official_results/mffw/{set_id.replace('mffw_', 'mffw2_', 1)}"
    return f"{DATA}/mffssim_official_results/{dataset}/{set_id}"


def method_metric_files(wildcards):
    """What a set's metrics.json is assembled from: one metrics.json per method, and one file for all the
    set's published methods (scored in one job: 30 images of one pair)."""
    methods = methods_for(wildcards.dataset, wildcards.set)
    files = [f"results/{wildcards.dataset}/{wildcards.set}/{m}/metrics.json" for m in methods if not m.startswith("published_")]
    if any(m.startswith("published_") for m in methods):
        files.append(f"results/{wildcards.dataset}/{wildcards.set}/published.metrics.json")
    return files


def ranking_datasets():
    """Data sets that get a ranking: ranking.datasets (empty = all of `datasets`), only those in `datasets`."""
    wanted = config["ranking"]["datasets"] or list(SETS)
    return [d for d in wanted if d in SETS]


def ranking_outputs():
    targets = [f"results/ranking/{d}.{ext}" for d in ranking_datasets() for ext in ("csv", "md")]
    targets += [f"results/ranking/{d}_ranks.png" for d in ranking_datasets()]
    if "mfifb" in ranking_datasets() and any(s.startswith("mffw_") for s in SETS["mfifb"]):
        targets.append("results/ranking/mffw_table1.md")
    return targets
