"""Helpers shared by the test modules (imported as ``from helpers import ...``; pytest puts tests/ on the
path): how the tests get their data, and running the workflow with Snakemake in a temporary directory.

Data: test vectors and data sets come through the project's own downloader.

:func:`fetch` downloads one data set or test-vector set with ``mffssim.datasets.download_dataset`` into
the cache (``mffssim.datasets.cache_dir()``: ``$MFFSSIM_CACHE``, else ``~/.cache/mffssim``), as
``<cache>/data/<name>/<dest>`` or ``<cache>/testvectors/<name>/<dest>``:

1. from the mirror named by ``MFFSSIM_MIRROR`` (a directory or an http(s) url laid out
   ``<mirror>/<name>/<dest>``, as config ``download.mirror``), when it is set;
2. else, and for whatever the mirror lacks, from the manifest's public urls (a short timeout, no retry,
   so that a machine without network gives up in seconds);
3. else the calling test is skipped with a reason naming the missing files, or, under ``CI=true``, fails
   with that message (CI must never pass without its evidence).

A test-vector set's manifest is not committed: :func:`vector_manifests` reads it from the mirror
(``<mirror>/<name>/sources.tsv``) and keeps a copy in ``<cache>/manifests/``; without either, the set's
tests skip (fail under CI) saying so.

Files already in the cache with the right size and sha256 are used as they are; what is fetched is
verified and written atomically by the downloader. The outcome per name is remembered for the session,
so a missing set costs one attempt, not one per test.

The fusion-metric vectors' expected values come from the survey's MATLAB tables (``mat/Q_color.mat``,
``mat/Q_grayscale.mat``): ``Q(method, metric, image)``, with the method order of the survey's
``evaluate_color.m`` / ``evaluate_grayscale.m``, the metric order of its loop and the image index the
two-digit number of ``c_kk`` / ``g_kk`` (:func:`fusion_rows`, :func:`fusion_expected`).
"""
from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

from mffssim.datasets import DATASETS, TESTVECTOR_SETS, DownloadError, cache_dir, download_dataset, load_manifest
from mffssim.datasets.download import file_matches
from mffssim.io import atomic_write

MIRROR_ENV = "MFFSSIM_MIRROR"
URL_TIMEOUT_S = 5.0  # public urls: one attempt, a few seconds (unreachable hosts must not stall the suite)
MIRROR_TIMEOUT_S = 30.0


def in_ci() -> bool:
    """True under ``CI=true`` (or ``CI=1``): missing data fails instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def mirror() -> str | None:
    """The mirror named by ``MFFSSIM_MIRROR`` (a directory or an http(s) url), or None."""
    return os.environ.get(MIRROR_ENV) or None


def missing(reason: str) -> None:
    """Skip the calling test with ``reason``; under CI fail it with the same message."""
    if in_ci():
        pytest.fail(f"missing test data (CI=true, so this fails instead of skipping): {reason}", pytrace=False)
    pytest.skip(reason)


@functools.lru_cache(maxsize=None)
def vector_manifests(name: str) -> tuple[Path | None, str | None]:
    """(manifest_dir, None) holding ``<name>.tsv``, the manifest of test-vector set ``name``, else (None, why).

    The manifests are not committed: the mirror holds each as ``<mirror>/<name>/sources.tsv`` (a directory
    or an http(s) url), copied into ``<cache>/manifests/`` so that a cache filled once also works offline.
    """
    folder = cache_dir() / "manifests"
    target = folder / f"{name}.tsv"
    where = mirror()
    if where is not None:
        source = f"{str(where).rstrip('/')}/{name}/sources.tsv"
        try:
            if "://" in source:
                with urllib.request.urlopen(source, timeout=MIRROR_TIMEOUT_S) as response:
                    text = response.read().decode("utf-8")
            else:
                text = Path(source).read_text(encoding="utf-8")
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        except (OSError, ValueError) as error:
            if not target.is_file():
                return None, f"testvectors {name!r}: no manifest ({source}: {error})"
    if not target.is_file():
        return None, f"testvectors {name!r}: no manifest ({MIRROR_ENV} is not set, none cached in {folder})"
    return folder, None


def _kind(name: str) -> tuple[str, Path | None, str | None]:
    """(cache subfolder, manifest_dir, why there is no manifest) of a data set or test-vector set name."""
    if name in TESTVECTOR_SETS:
        return ("testvectors", *vector_manifests(name))
    if name in DATASETS:
        return "data", None, None
    raise ValueError(f"unknown data set or test-vector set {name!r}")


def _absent(name: str, target: Path, manifest_dir: Path | None, sets: tuple[str, ...] | None = None) -> list[str]:
    entries = load_manifest(name, manifest_dir)
    if sets is not None:
        entries = [e for e in entries if e.dest.split("/", 1)[0] in sets]
    return [e.dest for e in entries if not file_matches(target / e.dest, e)]


@functools.lru_cache(maxsize=None)
def _fetch(name: str, sets: tuple[str, ...] | None = None) -> tuple[Path, str | None]:
    """(folder, None) when every file of ``name`` (of its image sets ``sets``, None: all) is in the cache,
    else (folder, why not)."""
    kind, manifest_dir, no_manifest = _kind(name)
    target = cache_dir() / kind / name
    if no_manifest is not None:
        return target, no_manifest
    tried = []
    where = mirror()
    if where is not None:
        try:
            download_dataset(name, target, mirror=where, manifest_dir=manifest_dir, retries=1,
                             timeout=MIRROR_TIMEOUT_S, backoff=0.2, sets=sets)
            return target, None
        except DownloadError as error:
            tried.append(f"mirror {where}: {error}")
    else:
        tried.append(f"{MIRROR_ENV} is not set")
    try:
        download_dataset(name, target, manifest_dir=manifest_dir, retries=0, timeout=URL_TIMEOUT_S, sets=sets)
        return target, None
    except DownloadError as error:
        tried.append(f"public urls: {error}")
    absent = _absent(name, target, manifest_dir, sets)
    listed = ", ".join(absent[:6]) + (f", ... ({len(absent) - 6} more)" if len(absent) > 6 else "")
    total = sum(sets is None or e.dest.split("/", 1)[0] in sets for e in load_manifest(name, manifest_dir))
    return target, (f"{kind} {name!r}: {len(absent)} of {total} files missing from {target} ({listed}); "
                    + "; ".join(tried))


def fetch(name: str, sets: tuple[str, ...] | None = None) -> Path:
    """The folder holding every file of data set or test-vector set ``name`` (``<folder>/<dest>``), or only
    those of its image sets ``sets`` (the first folder of each file's dest); skips the calling test (fails it
    under CI) with the reason when they cannot be had."""
    folder, problem = _fetch(name, None if sets is None else tuple(sets))
    if problem is not None:
        missing(problem)
    return folder


# ----------------------------------------------------------------------------- fusion-metric vectors
# Q(i, j, kk) of the survey's MATLAB tables: method i, metric j (1-based, MATLAB), image kk.
FUSION_METHODS = (
    "dwt", "dtcwt", "nsct", "gff", "sr", "asr", "mwgf", "ica", "nsct-sr",
    "sssdi", "quadtree", "dsift", "srcf", "gfdf", "brw", "misf", "cnn", "madcnn",
)
FUSION_METRICS = ("QMI", "QNCIE", "QG", "QP", "QE", "QY", "QCB", "QCV")
FUSION_TABLES = {"color": "mat/Q_color.mat", "grayscale": "mat/Q_grayscale.mat"}
_FUSED = re.compile(r"^(color|grayscale)/([cg]_\d\d)/\2_(.+)\.tif$")


@functools.lru_cache(maxsize=None)
def fusion_rows() -> tuple[dict[str, str], ...]:
    """One row per fused image of the ``fusion_metrics`` manifest (known without downloading), in manifest
    order: ``set``, ``image``, ``method`` and the dests ``fused_file``, ``source_1``, ``source_2``; none
    without the manifest (the tests that need the files then skip, or fail under CI, with the reason)."""
    manifest_dir, _ = vector_manifests("fusion_metrics")
    if manifest_dir is None:
        return ()
    rows = []
    for entry in load_manifest("fusion_metrics", manifest_dir):
        match = _FUSED.match(entry.dest)
        if match is None or match.group(3) in ("1", "2"):
            continue
        folder, image, method = match.groups()
        if method not in FUSION_METHODS:
            raise ValueError(f"fusion_metrics manifest: {entry.dest}: unknown method {method!r}")
        base = f"{folder}/{image}/{image}"
        rows.append({"set": folder, "image": image, "method": method, "fused_file": entry.dest,
                     "source_1": f"{base}_1.tif", "source_2": f"{base}_2.tif"})
    return tuple(rows)


@functools.lru_cache(maxsize=None)
def _table(path: Path):
    from scipy.io import loadmat

    return loadmat(path)["Q"]


def fusion_expected(vectors: Path, row: dict[str, str]) -> dict[str, float]:
    """The survey's MATLAB values of ``row`` (metric name -> value), read from the downloaded ``.mat``
    table: ``Q[i - 1, j - 1, kk - 1]`` for method ``i``, metric ``j`` and image ``kk``."""
    table = _table(vectors / FUSION_TABLES[row["set"]])
    i = FUSION_METHODS.index(row["method"])
    kk = int(row["image"][2:]) - 1
    return {name: float(table[i, j, kk]) for j, name in enumerate(FUSION_METRICS)}


# ------------------------------------------------------------------------------ running the workflow
REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "config" / "tiny.yaml"


def snakemake(workdir: Path, *args: str, configs: tuple[Path, ...] = (), tiny: bool = True,
              timeout: float = 900, fresh: tuple[str, ...] | None = None) -> subprocess.CompletedProcess:
    """Run snakemake on the repository's Snakefile in ``workdir`` with config/tiny.yaml (unless ``tiny`` is
    false: config.yaml alone) plus ``configs``; with ``fresh``, as after ``pip install mffssim[fresh]`` on a
    fresh machine (:func:`as_installed`)."""
    configs = ((TINY,) if tiny else ()) + tuple(configs)
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", *args,
    ]
    if configs:
        command += ["--configfile", *map(str, configs)]  # --configfile last: it takes a list
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if fresh is not None:
        env = as_installed(fresh, env, workdir.parent / f"{workdir.name}_site")
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


# The distributions of the project's extras, resolved from pyproject.toml and the installed packages' metadata:
# a command run "as on a fresh install of mffssim[extras]" cannot import any other (:func:`as_installed`).
_GUARD = '''"""Written by the tests (tests/helpers.py): this process imports only what a fresh install of the project
would have. A module of a distribution that the named extras do not bring is refused as if it were absent, and
left out of pkgutil's module listing (where Snakemake looks for its plugins)."""
import os
import pkgutil
import sys

_REFUSED = frozenset(open(os.path.join(os.path.dirname(__file__), "refused.txt")).read().split())


class _FreshInstall:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in _REFUSED:
            raise ModuleNotFoundError(f"No module named {name!r} (installed here, but no requirement of the "
                                      f"project's {os.path.basename(os.path.dirname(__file__))} brings it)", name=name)
        return None


def _listed(*args, _all=pkgutil.iter_modules, **kwargs):
    return (info for info in _all(*args, **kwargs) if info.name.partition(".")[0] not in _REFUSED)


sys.meta_path.insert(0, _FreshInstall)
pkgutil.iter_modules = _listed
'''


def _requirements(project: dict, extras: tuple[str, ...]) -> list:
    """The project's core requirements plus those of ``extras``, its own extras (``mffssim[x]``) expanded."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found = [Requirement(spec) for spec in project["dependencies"]]
    for extra in extras:
        for spec in project["optional-dependencies"][extra]:
            requirement = Requirement(spec)
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                found += _requirements(project, tuple(requirement.extras))
            else:
                found.append(requirement)
    return found


def installable_closure(extras: tuple[str, ...], pyproject: str | None = None) -> set[str]:
    """Canonical names of the distributions that ``pip install mffssim[extras]`` brings (``pyproject``: that
    text instead of pyproject.toml's): the project's requirements, then, transitively, those that the installed
    distributions declare, markers evaluated here with the requested extras of each."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads(pyproject or (REPO / "pyproject.toml").read_text())["project"]
    pending = [r for r in _requirements(project, extras) if r.marker is None or r.marker.evaluate()]
    seen: dict[str, set[str]] = {canonicalize_name(project["name"]): set(extras)}
    while pending:
        requirement = pending.pop()
        name, wanted = canonicalize_name(requirement.name), set(requirement.extras)
        if name in seen and wanted <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | wanted
        try:
            declared = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: nothing can import it here either
        for spec in map(Requirement, declared):
            if spec.marker is None or any(spec.marker.evaluate({"extra": e}) for e in ("", *seen[name])):
                pending.append(spec)
    return set(seen)


def refused_modules(allowed: set[str]) -> set[str]:
    """Top-level modules that only distributions outside ``allowed`` (canonical names) provide."""
    import importlib.metadata as metadata

    from packaging.utils import canonicalize_name

    refused = set()
    for module, dists in metadata.packages_distributions().items():
        if module not in sys.stdlib_module_names and not {canonicalize_name(d) for d in dists} & allowed:
            refused.add(module)
    return refused


def as_installed(extras: tuple[str, ...], env: dict[str, str], folder: Path,
                 pyproject: str | None = None) -> dict[str, str]:
    """``env`` changed so that every Python process started with it (children too) can import only what
    ``pip install mffssim[extras]`` brings (``pyproject``: as that file declares it), as on a fresh machine:
    a ``sitecustomize`` module, put first on PYTHONPATH, refuses the rest of what is installed here."""
    folder = folder / ("mffssim[" + ",".join(extras) + "]")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_GUARD)
    (folder / "refused.txt").write_text("\n".join(sorted(refused_modules(installable_closure(extras, pyproject)))))
    return dict(env, PYTHONPATH=str(folder) + os.pathsep + env.get("PYTHONPATH", ""))


def write_config(path: Path, values: dict) -> Path:
    """Write ``values`` as a YAML config file; return its path."""
    path.write_text(yaml.safe_dump(values))
    return path


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run ({} when nothing is to be done)."""
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)\s*$", line)
        if not match or match.group(1) == "total":
            break
        counts[match.group(1)] = int(match.group(2))
    return counts


def failure_text(proc: subprocess.CompletedProcess) -> str:
    """A failed run's exit status and the ends of its stdout and stderr, for an assertion message."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-6000:]}"
