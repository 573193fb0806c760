# Functions of the ranking and of the per-method metrics (no rules here): the published results of a set
# (MFIFB's, registry.published_dests), the user's own fused images (config ranking.own), the inputs that
# assemble a set's metrics.json, and the data sets that get a ranking.
from mffssim.workflow.ranking import own_file

PUBLISHED_RESULTS = registry.PUBLISHED_RESULTS


def published_paths(dataset, set_id):
    """{published_<name>: path under data_dir} of the set's planned published results."""
    planned = methods_for(dataset, set_id)
    dests = registry.published_dests(base_dataset(dataset), set_id)
    return {m: f"{DATA}/{PUBLISHED_RESULTS}/{dest}" for m, dest in dests.items() if m in planned}


def published_pair_index(wildcards):
    """The download of one pair's published results (rule download_published_pair)."""
    return f"{DATA}/{PUBLISHED_RESULTS}/{wildcards.set}.index.tsv"


def own_method():
    """own_<name> when config ranking.own.dir is set, else None."""
    own = config["ranking"]["own"]
    return f"{registry.OWN_PREFIX}{own['name']}" if own["dir"] else None


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


def scored_methods(dataset, set_id):
    """The set's methods that rule method_metrics scores (all but the published results)."""
    return [m for m in methods_for(dataset, set_id) if m not in registry.PUBLISHED_BY_ID]


def method_metric_files(wildcards):
    """What a set's metrics.json is assembled from: one file for the set's own methods (scored in one job, each
    kept in its folder) and one for all its published methods (scored in one job: 30 images of one pair)."""
    methods = methods_for(wildcards.dataset, wildcards.set)
    files = []
    if scored_methods(wildcards.dataset, wildcards.set):
        files.append(f"results/{wildcards.dataset}/{wildcards.set}/methods.metrics.json")
    if any(m in registry.PUBLISHED_BY_ID for m in methods):
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
