"""One source of truth for the names the workflow plans with: data sets, their image sets, and method ids.

Data sets (:data:`DATASETS`): the downloadable ones of :data:`mffssim.datasets.manifest.DATASETS`, the local
``embedded`` (made offline) and ``folder`` (the user's own sets), and the auxiliary downloads that are not
image sets to fuse (:data:`AUXILIARY`: the authors' published results, the VOC samples of the detector).
Per data set, :func:`image_sets` gives each set's K and whether it carries an all-in-focus ``reference`` and
an annotated ``focus_map``; :func:`official_sets` the sets the authors published MS-Lap / MS-ResNet results for.
All of it is known from the manifests, without downloading and without any image library.

Method ids (the folders under ``results/<dataset>/<set>/``) come from the fusers of :data:`FUSERS`, one entry
each, whose names are the choices of config ``fusion.methods``:

- a map-based fuser makes ``<fuser>-<detector>`` for each detector it has a rule for (``mffssim_paper-lap``);
- any other fuser makes the ids it lists: ``average``, ``enfuse``, ``official`` makes ``official_ms_lap``
  and ``official_ms_resnet`` (the authors' published images), and ``published`` makes ``published_<name>``
  for the 30 methods whose fused images the MFIFB benchmark published (on ``lytro`` and ``mfifb``);
- a user's own fused images (config ``ranking.own``) are the method ``own_<name>`` (:data:`OWN_ID`).

Adding a fuser or a family of methods is one :class:`Fuser` entry in :data:`FUSERS`; the regex
(:data:`METHOD_ID`), the parser (:func:`parse_method`), the schema's enum (tests) and the workflow's planning
(:func:`set_methods`) follow from it.

Example
-------
>>> parse_method("mffssim_paper-lap")
Method(id='mffssim_paper-lap', fuser='mffssim_paper', detector='lap')
>>> parse_method("official_ms_resnet").fuser
'official'
>>> is_method_id("mffssim_paper_long-resnet")
False
>>> parse_method("published_gff").fuser, parse_method("own_mine").fuser
('published', 'own')
>>> image_sets("embedded")["chelsea_k3"]
ImageSet(dataset='embedded', set_id='chelsea_k3', n_sources=3, reference=True, focus_map=True)
"""
from __future__ import annotations

import functools
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable, Iterable, Mapping, Sequence

from mffssim.datasets.manifest import DATASETS as DOWNLOADABLE
from mffssim.datasets.manifest import COMPARISONS, EMBEDDED_SETS, FRAME_SOURCES, load_manifest

# ------------------------------------------------------------------------------------------------ data sets
LOCAL = ("embedded", "folder")
# downloads that are not image sets to fuse: the authors' published results, the detector's VOC samples
AUXILIARY = ("mffssim_official_results", "voc_seg_samples", "mfifb_results")
OFFICIAL_RESULTS = "mffssim_official_results"
# the MFIFB benchmark's fused images of 30 published methods (<pair>/<METHOD>.<ext>), and the data sets whose
# sets they cover (the pair id is the set id: lytro_NN in lytro, the other 82 in mfifb, among them mffw_NN,
# the JPEG versions of MFFW's mffw2_NN that the 30 methods fused)
PUBLISHED_RESULTS = "mfifb_results"
PUBLISHED_DATASETS = ("lytro", "mfifb")
PUBLISHED_METHODS = (
    "ASR", "BFMF", "BGSC", "CBF", "CNN", "CSR", "DCT_Corr", "DCT_EOL", "DPRL", "DSIFT", "DWTDE", "ECNN", "GD",
    "GFDF", "GFF", "IFCNN", "IFM", "MFM", "MGFF", "MST_SR", "MSVD", "MWGF", "NSCT_SR", "PCANet", "QB", "RP_SR",
    "SESF", "SFMD", "SVDDCT", "TF",
)
# published_<name in lower case> -> the name MFIFB gives the file
PUBLISHED_BY_ID = {f"published_{m.lower()}": m for m in PUBLISHED_METHODS}
# every data set name the workflow knows (the `dataset` wildcard)
DATASETS: tuple[str, ...] = LOCAL + DOWNLOADABLE
# the image-set collections a run can fuse (config `datasets`)
FUSABLE: tuple[str, ...] = LOCAL + tuple(d for d in DOWNLOADABLE if d not in AUXILIARY)


@dataclass(frozen=True)
class ImageSet:
    """What planning needs to know of one image set: K, and which optional files it carries."""

    dataset: str
    set_id: str
    n_sources: int
    reference: bool
    focus_map: bool


def _embedded_k(set_id: str) -> int:
    """K of an embedded set: its id ends in ``_k<K>`` when K > 2."""
    head, _, tail = set_id.rpartition("_k")
    return int(tail) if head and tail.isdigit() else 2


@functools.cache
def _manifest_sets(dataset: str) -> dict[str, ImageSet]:
    files: dict[str, list[str]] = {}
    for entry in load_manifest(dataset):
        path = PurePosixPath(entry.dest)
        if len(path.parts) > 1:
            files.setdefault(path.parts[0], []).append(path.stem)
    # sources are source_<k>, or frames named as upstream publishes them (FRAME_SOURCES)
    source = re.compile(FRAME_SOURCES.get(dataset, r"^source_\d+$"))
    return {
        set_id: ImageSet(dataset, set_id, sum(1 for s in stems if source.match(s)),
                         "reference" in stems, "focus_map" in stems)
        for set_id, stems in sorted(files.items())
    }


def image_sets(dataset: str, folder: str | os.PathLike | Mapping | None = None) -> dict[str, ImageSet]:
    """The image sets of a data set by id (sorted): K, reference, focus map.

    ``folder``: the root of the ``folder`` data set (config ``folder.path``), whose sets are discovered on disk
    (:func:`mffssim.io.find_image_sets`), or what that function found there; the other data sets need no
    files but their manifest.
    """
    if dataset == "embedded":  # synthetic sets carry their exact reference and map
        return {s: ImageSet(dataset, s, _embedded_k(s), True, True) for s in EMBEDDED_SETS}
    if dataset == "folder":
        if folder is None:
            raise ValueError("image_sets('folder') needs the folder (config folder.path)")
        if not isinstance(folder, Mapping):
            from mffssim.io import find_image_sets

            folder = find_image_sets(folder)
        return {
            s: ImageSet(dataset, s, len(f.sources), f.reference is not None, f.focus_map is not None)
            for s, f in folder.items()
        }
    if dataset not in DOWNLOADABLE:
        raise ValueError(f"unknown data set {dataset!r}; known: {', '.join(DATASETS)}")
    return dict(_manifest_sets(dataset))


# MFIFB's JPEG pair mffw_NN is MFFW's TIFF pair mffw2_NN: the authors' images of the latter belong to both
_MFIFB_MFFW = ("mffw_", "mffw2_")


@functools.cache
def _official() -> dict[str, frozenset[str]]:
    sets: dict[str, set[str]] = {}
    for entry in load_manifest(OFFICIAL_RESULTS):
        parts = PurePosixPath(entry.dest).parts
        if len(parts) > 2:
            sets.setdefault(parts[0], set()).add(parts[1])
    return {dataset: frozenset(s) for dataset, s in sets.items()}


def official_dir(dataset: str, set_id: str) -> str:
    """Where the authors' images of a set lie inside the ``mffssim_official_results`` download (for MFIFB's
    ``mffw_NN``: those of MFFW's ``mffw2_NN``, fused from the TIFF version of the same pair)."""
    jpeg, tiff = _MFIFB_MFFW
    if dataset == "mfifb" and set_id.startswith(jpeg):
        return f"mffw/{set_id.replace(jpeg, tiff, 1)}"
    return f"{dataset}/{set_id}"


@functools.cache
def _published() -> dict[str, dict[str, str]]:
    """pair -> {published method id: dest inside the ``mfifb_results`` download}, from its manifest."""
    return published_files(entry.dest for entry in load_manifest(PUBLISHED_RESULTS))


def published_files(dests: Iterable[str]) -> dict[str, dict[str, str]]:
    """pair -> {method id: dest} of the published results among manifest ``dests`` (``<pair>/<METHOD>.<ext>``).

    >>> published_files(["lytro_01/GFF.jpg", "lytro_01/README.txt"])
    {'lytro_01': {'published_gff': 'lytro_01/GFF.jpg'}}
    """
    found: dict[str, dict[str, str]] = {}
    for dest in dests:
        path = PurePosixPath(dest)
        if len(path.parts) == 2 and path.stem in PUBLISHED_METHODS:
            found.setdefault(path.parts[0], {})[f"published_{path.stem.lower()}"] = dest
    return found


def published_dests(dataset: str, set_id: str) -> dict[str, str]:
    """{published_<name>: dest inside the ``mfifb_results`` download} of one set (empty outside
    :data:`PUBLISHED_DATASETS`)."""
    return dict(_published().get(set_id, {})) if dataset in PUBLISHED_DATASETS else {}


def official_datasets() -> tuple[str, ...]:
    """The data sets the authors published MS-Lap / MS-ResNet results for (``mffw``, ``lytro``, ``grayscale``)."""
    return tuple(d for d in DATASETS if d in _official())


@functools.cache
def comparison_files(dataset: str, set_id: str) -> dict[str, str]:
    """Other programs' published results on one set ({method id: its dest in the data set's manifest}), e.g.
    focus-stack's result on the ``focus_stack_examples`` stacks: methods of the ``official`` fuser too."""
    wanted = COMPARISONS.get(dataset, {})
    if not wanted:
        return {}
    dests = [PurePosixPath(e.dest) for e in load_manifest(dataset)]
    return {method: str(d) for method, stem in wanted.items() for d in dests
            if len(d.parts) > 1 and d.parts[0] == set_id and d.stem == stem}


def official_sets(dataset: str) -> frozenset[str]:
    """The sets of ``dataset`` with the authors' published results (empty for any other data set); for
    ``mfifb``, its ``mffw_NN`` pairs (see :func:`official_dir`)."""
    if dataset == "mfifb":
        jpeg, tiff = _MFIFB_MFFW
        return frozenset(s.replace(tiff, jpeg, 1) for s in _official().get("mffw", ()))
    return _official().get(dataset, frozenset())


# -------------------------------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class Detector:
    name: str
    label: str


DETECTORS: tuple[Detector, ...] = (
    Detector("lap", "Laplacian-energy map"),
    Detector("given", "annotated map"),
    Detector("resnet", "ResNet map"),
)
DETECTOR_NAMES: tuple[str, ...] = tuple(d.name for d in DETECTORS)


@dataclass(frozen=True)
class Fuser:
    """One choice of config ``fusion.methods`` and the method ids it makes.

    ``detectors``: a map-based fuser's detectors (ids ``<name>-<detector>``); ``ids``: the ids of any other
    fuser as ``(id, label)`` pairs (default: its name and label; a family of methods is one fuser with many).
    ``program``/``package``: an external program it runs (skipped where it is not on PATH). ``published``:
    its ids are the authors' published images (only for the sets that have them).
    """

    name: str
    label: str
    detectors: tuple[str, ...] = ()
    ids: tuple[tuple[str, str], ...] = ()
    program: str | None = None
    package: str | None = None
    published: bool = False

    @property
    def map_based(self) -> bool:
        return bool(self.detectors)

    def method_ids(self, detectors: Iterable[str] | None = None) -> tuple[str, ...]:
        """Its method ids; for a map-based fuser those of ``detectors`` it has a rule for (default: all)."""
        if not self.map_based:
            return tuple(i for i, _ in self.ids) or (self.name,)
        wanted = DETECTOR_NAMES if detectors is None else tuple(detectors)
        return tuple(f"{self.name}-{d}" for d in wanted if d in self.detectors)


# the authors' published results: official_<kind> (`kind` wildcard), and its display name
OFFICIAL_KINDS = {"ms_lap": "MS-Lap", "ms_resnet": "MS-ResNet"}

FUSERS: tuple[Fuser, ...] = (
    Fuser("mffssim_paper", "MFF-SSIM (paper's equations)", detectors=("lap", "given", "resnet")),
    Fuser("mffssim_reference", "MFF-SSIM (authors' index)", detectors=("lap", "given", "resnet")),
    # the paper variant with config quality.long's iterations and tol; no sequential ResNet rule
    Fuser("mffssim_paper_long", "MFF-SSIM, long run (paper's equations)", detectors=("lap", "given")),
    Fuser("pixelwise", "Pixel-wise Eq. 1", detectors=("lap", "given", "resnet")),
    Fuser("average", "Average"),
    Fuser("enfuse", "enfuse", program="enfuse", package="enfuse"),
    # the authors' published images, and other programs' published results (COMPARISONS) where a set has them
    Fuser("official", "published images", published=True,
          ids=tuple((f"official_{kind}", f"{name}, authors' published images") for kind, name in OFFICIAL_KINDS.items())
          + (("focus_stack", "focus-stack (P. Aimonen), its published result"),)),
    # the fused images of 30 published methods, from the MFIFB benchmark (lytro and mfifb sets only)
    Fuser("published", "published methods (MFIFB benchmark)", published=True,
          ids=tuple((method, f"{name} (MFIFB's published result)") for method, name in PUBLISHED_BY_ID.items())),
)
FUSER_NAMES: tuple[str, ...] = tuple(f.name for f in FUSERS)
# methods that only some data sets have (other programs' results, COMPARISONS; MFIFB's published results): not
# planned, nor reported as skipped, on a data set none of whose sets has them
_COVERAGE_IDS = frozenset(method for by_method in COMPARISONS.values() for method in by_method) | frozenset(PUBLISHED_BY_ID)
# a user's own fused images (config ranking.own): own_<name>, a name of lower-case letters and digits
OWN_PREFIX = "own_"
OWN_ID = rf"{OWN_PREFIX}[a-z0-9]+"
MAP_FUSERS: tuple[str, ...] = tuple(f.name for f in FUSERS if f.map_based)
_BY_NAME = {f.name: f for f in FUSERS}


def fuser(name: str) -> Fuser:
    """The :class:`Fuser` of a ``fusion.methods`` choice (ValueError listing the choices)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown fuser {name!r}; known: {', '.join(FUSER_NAMES)}") from None


@dataclass(frozen=True)
class Method:
    id: str
    fuser: str
    detector: str | None


def _methods() -> dict[str, Method]:
    table = {}
    for f in FUSERS:
        for method in f.method_ids():
            detector = method.rsplit("-", 1)[1] if f.map_based else None
            table[method] = Method(method, f.name, detector)
    return table


_METHODS = _methods()
METHOD_IDS: tuple[str, ...] = tuple(_METHODS)


def _alternation(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


def _grammar() -> str:
    parts = []
    for f in FUSERS:
        if f.map_based:
            parts.append(f"{re.escape(f.name)}-(?:{_alternation(f.detectors)})")
        else:
            parts.append(_alternation(f.method_ids()))
    return "(?:" + "|".join(parts + [OWN_ID]) + ")"


# every valid method id, as a regex (the `method` wildcard; figures.methods is checked against it)
METHOD_ID: str = _grammar()


def is_method_id(method: str) -> bool:
    return isinstance(method, str) and re.fullmatch(METHOD_ID, method) is not None


def parse_method(method: str) -> Method:
    """The fuser and detector (None where the method takes no map) of a method id; ValueError if invalid."""
    if isinstance(method, str) and re.fullmatch(OWN_ID, method):
        return Method(method, "own", None)
    try:
        return _METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown method id {method!r} (ids look like mffssim_paper-lap, pixelwise-given, average, enfuse, "
            "official_ms_lap, published_gff, own_<name>)"
        ) from None


def method_ids(fusers: Iterable[str] | None = None, detectors: Iterable[str] | None = None) -> tuple[str, ...]:
    """The ids the given fusers (default: all) make with the given detectors (default: all), in that order."""
    names = FUSER_NAMES if fusers is None else tuple(fusers)
    return tuple(m for name in names for m in fuser(name).method_ids(detectors))


def method_label(method: str) -> str:
    """A display name of a method id: the fuser's label, with the detector's for a map-based one."""
    parsed = parse_method(method)
    if parsed.fuser == "own":
        return f"{method[len(OWN_PREFIX):]} (own results)"
    f = _BY_NAME[parsed.fuser]
    if parsed.detector is None:
        return dict(f.ids).get(method, f.label)
    detector = next(d.label for d in DETECTORS if d.name == parsed.detector)
    return f"{f.label}, {detector}"


# ------------------------------------------------------------------------------------- planning a run
def set_methods(
    fusers: Sequence[str],
    detectors: Sequence[str],
    image_set: ImageSet,
    *,
    which: Callable[[str], str | None] = shutil.which,
) -> dict[str, str | None]:
    """Every method the config asks for on one image set, in config order, with None where it runs and the
    reason where it is skipped.

    ``fusers``: config ``fusion.methods``; ``detectors``: config ``focus.detectors``; ``which``: finds an
    external program (default :func:`shutil.which`).
    """
    plan: dict[str, str | None] = {}
    for name in fusers:
        f = fuser(name)
        if f.map_based:
            for detector in detectors:
                method = f"{f.name}-{detector}"
                if detector not in f.detectors:
                    plan[method] = f"{f.name} has no rule for the {detector} map"
                elif detector == "given" and not image_set.focus_map:
                    plan[method] = "the set has no annotated focus map"
                else:
                    plan[method] = None
            continue
        if f.program is not None and which(f.program) is None:
            reason = f"the {f.program} program is not on PATH (Debian package {f.package or f.program})"
        elif f.published:
            available = published_methods(image_set.dataset, image_set.set_id)
            for method in f.method_ids():
                if method in _COVERAGE_IDS and method not in published_methods(image_set.dataset):
                    continue  # results another data set has: not planned here, nor reported as skipped
                plan[method] = None if method in available else (
                    "no published results for this data set" if not published_methods(image_set.dataset)
                    else "no published results for this set")
            continue
        else:
            reason = None
        plan.update((method, reason) for method in f.method_ids())
    return plan


def published_methods(dataset: str, set_id: str | None = None) -> frozenset[str]:
    """The published methods a set has (the authors' ``official_<kind>``, other programs' results, MFIFB's
    ``published_<name>``); with no ``set_id``, those any set of the data set has."""
    return _published_methods(dataset, set_id)


@functools.cache
def _published_methods(dataset: str, set_id: str | None) -> frozenset[str]:
    sets = [set_id] if set_id is not None else list(image_sets(dataset)) if dataset in DOWNLOADABLE else []
    found = set()
    for s in sets:
        if s in official_sets(dataset):
            found.update(f"official_{kind}" for kind in OFFICIAL_KINDS)
        found.update(comparison_files(dataset, s))
        found.update(published_dests(dataset, s))
    return frozenset(found)


def skipped_methods(plans: Mapping[str, Mapping[str, str | None]]) -> dict[str, str]:
    """{method: reason} of the methods skipped on a data set's sets, from :func:`set_methods` of each set
    (set id -> plan): the reason alone where a method runs on no set, with the sets named where it runs on some."""
    skipped: dict[str, dict[str, list[str]]] = {}
    for set_id, plan in plans.items():
        for method, reason in plan.items():
            if reason is not None:
                skipped.setdefault(method, {}).setdefault(reason, []).append(set_id)
    reasons = {}
    for method, by_reason in skipped.items():
        texts = []
        for reason, set_ids in by_reason.items():
            everywhere = len(set_ids) == len(plans)
            texts.append(reason if everywhere else f"{reason} ({len(set_ids)} of {len(plans)} sets: {', '.join(set_ids)})")
        reasons[method] = "; ".join(texts)
    return reasons
