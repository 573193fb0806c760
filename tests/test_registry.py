"""The registry of data sets and method ids (mffssim/registry.py): the grammar, the image sets known from the
manifests, and the plan of a config's methods on a set with the reasons for what it skips."""
from __future__ import annotations

import itertools
import re

import pytest

from mffssim import registry
from mffssim.datasets.manifest import DATASETS as MANIFEST_DATASETS


def test_every_method_id_parses_back_to_its_fuser_and_detector():
    for method in registry.METHOD_IDS:
        parsed = registry.parse_method(method)
        assert parsed.id == method
        fuser = registry.fuser(parsed.fuser)
        assert method in fuser.method_ids()
        if fuser.map_based:
            assert method == f"{parsed.fuser}-{parsed.detector}" and parsed.detector in fuser.detectors
        else:
            assert parsed.detector is None


def test_the_method_id_grammar():
    expected = {f"{f}-{d}" for f in ("mffssim_paper", "mffssim_reference", "pixelwise") for d in ("lap", "given", "resnet")}
    expected |= {"mffssim_paper_long-lap", "mffssim_paper_long-given"}
    expected |= {"average", "enfuse", "official_ms_lap", "official_ms_resnet", "focus_stack"}
    expected |= {f"published_{name.lower()}" for name in registry.PUBLISHED_METHODS}
    assert set(registry.METHOD_IDS) == expected and len(registry.PUBLISHED_METHODS) == 30
    assert registry.MAP_FUSERS == ("mffssim_paper", "mffssim_reference", "mffssim_paper_long", "pixelwise")
    assert registry.FUSER_NAMES == registry.MAP_FUSERS + ("average", "enfuse", "official", "published")
    assert registry.parse_method("pixelwise-given") == registry.Method("pixelwise-given", "pixelwise", "given")
    assert registry.parse_method("official_ms_lap") == registry.Method("official_ms_lap", "official", None)
    assert registry.parse_method("focus_stack") == registry.Method("focus_stack", "official", None)
    assert registry.parse_method("published_dct_corr") == registry.Method("published_dct_corr", "published", None)
    # a user's own results: own_<lower-case letters and digits>, outside fusion.methods
    assert registry.parse_method("own_mine2") == registry.Method("own_mine2", "own", None)
    for text in ("own_", "own_Mine", "own_my-method", "own_a_b", "own-mine"):
        assert not registry.is_method_id(text), text


def test_published_methods_per_set():
    assert registry.published_methods("mffw", "mffw2_01") == {"official_ms_lap", "official_ms_resnet"}
    assert registry.published_methods("focus_stack_examples", "pcb") == {"focus_stack"}
    assert registry.published_methods("focus_stack_examples", "depthmap") == frozenset()
    assert registry.published_methods("nyu_d_100") == frozenset()
    stacks = registry.image_sets("focus_stack_examples")
    assert {s: i.n_sources for s, i in stacks.items()} == {"depthmap": 10, "pcb": 7}
    plan = registry.set_methods(["official"], ["lap"], stacks["depthmap"])
    assert plan["focus_stack"] == "no published results for this set" and set(plan) == {
        "official_ms_lap", "official_ms_resnet", "focus_stack"}
    # focus-stack's result belongs to its data set: other data sets neither plan nor report it
    assert "focus_stack" not in registry.set_methods(["official"], ["lap"], registry.image_sets("mffw")["mffw2_01"])


def test_published_results_of_the_mfifb_benchmark():
    # MFIFB's JPEG mffw_NN is MFFW's mffw2_NN: the authors' images of the TIFF pair, and the 30 methods' results
    mffw_01 = registry.published_methods("mfifb", "mffw_01")
    assert {"official_ms_lap", "official_ms_resnet"} <= mffw_01 and len(mffw_01) == 32
    assert registry.official_dir("mfifb", "mffw_01") == "mffw/mffw2_01"
    assert registry.official_dir("lytro", "lytro_01") == "lytro/lytro_01"
    assert len(registry.published_dests("lytro", "lytro_01")) == 30
    assert registry.published_dests("mffw", "lytro_01") == {}  # only lytro and mfifb sets are covered
    assert len(registry.image_sets("mfifb")) == 82 and len(registry.image_sets("lytro")) == 24  # 20 pairs, 4 triples
    # a method lacking a pair is "no result" on that pair; data sets without any are neither planned nor reported
    # (MFIFB has all 30 on each of its pairs; Lytro's triples are not MFIFB pairs)
    plans = {s: registry.set_methods(["published"], ["lap"], i) for s, i in registry.image_sets("lytro").items()}
    assert set(plans["lytro_triple_01"].values()) == {"no published results for this set"}
    assert len(plans["lytro_triple_01"]) == 30 and set(plans["lytro_01"].values()) == {None}
    assert registry.set_methods(["published"], ["lap"], registry.image_sets("mffw")["mffw2_01"]) == {}


def _near_misses():
    """Strings next to valid ids: prefixes, suffixes, wrong separators, unknown parts, combinations."""
    parts = list(registry.FUSER_NAMES) + list(registry.DETECTOR_NAMES) + ["official", "ms_lap", "mffssim", "x", ""]
    for a, b in itertools.product(parts, repeat=2):
        for sep in ("-", "_", ""):
            yield f"{a}{sep}{b}"
    for method in registry.METHOD_IDS:
        yield from (method + "x", "x" + method, method.upper(), method + "-lap", method.replace("-", "_"), f" {method}")


def test_the_regex_accepts_exactly_the_valid_ids():
    pattern = re.compile(registry.METHOD_ID)
    for method in registry.METHOD_IDS:
        assert pattern.fullmatch(method), method
    for text in set(_near_misses()) - set(registry.METHOD_IDS):
        assert not pattern.fullmatch(text), text
        assert not registry.is_method_id(text)
        with pytest.raises(ValueError, match="unknown method id"):
            registry.parse_method(text)


def test_method_ids_follow_fusers_and_detectors_in_the_order_asked():
    assert registry.method_ids(["pixelwise", "mffssim_paper_long", "average"], ["resnet", "lap"]) == (
        "pixelwise-resnet", "pixelwise-lap", "mffssim_paper_long-lap", "average")
    assert registry.method_ids(["official"]) == ("official_ms_lap", "official_ms_resnet", "focus_stack")
    with pytest.raises(ValueError, match="unknown fuser 'nope'"):
        registry.method_ids(["nope"])


def test_a_family_of_methods_is_one_fuser_entry(monkeypatch):
    """What adding e.g. published_<name> ids takes: one Fuser with its ids; the grammar follows."""
    family = registry.Fuser("published", "published methods", ids=(("published_bf", "BF"), ("published_cnn", "CNN")))
    fusers = registry.FUSERS + (family,)
    monkeypatch.setattr(registry, "FUSERS", fusers)
    pattern = registry._grammar()
    assert re.fullmatch(pattern, "published_cnn") and not re.fullmatch(pattern, "published_x")
    assert family.method_ids() == ("published_bf", "published_cnn")


def test_labels():
    assert registry.method_label("pixelwise-given") == "Pixel-wise Eq. 1, annotated map"
    assert registry.method_label("official_ms_resnet") == "MS-ResNet, authors' published images"
    assert registry.method_label("average") == "Average"


def test_data_set_names():
    assert registry.DOWNLOADABLE == MANIFEST_DATASETS
    assert set(registry.DATASETS) == set(MANIFEST_DATASETS) | {"embedded", "folder"}
    assert set(registry.FUSABLE) == set(registry.DATASETS) - {"mffssim_official_results", "voc_seg_samples", "mfifb_results"}
    assert registry.official_datasets() == ("mffw", "lytro", "grayscale")


def test_image_sets_of_a_manifest_data_set():
    sets = registry.image_sets("mffw")
    assert {s: i.n_sources for s, i in sets.items()} == {**{f"mffw2_{n:02d}": 2 for n in (1, 2, 3, 4, 5, 6, 8, 9, 11, 13)},
                                                         "mffw3_01": 3, "mffw3_02": 6, "mffw3_03": 3,
                                                         "mffw3_04": 3, "mffw3_05": 3, "mffw3_06": 4}
    assert not any(i.reference for i in sets.values())
    assert [s for s, info in sets.items() if info.focus_map] == ["mffw2_06"]
    assert sets["mffw2_06"] == registry.ImageSet("mffw", "mffw2_06", 2, False, True)
    assert all(s.reference for s in registry.image_sets("nyu_d_100").values())
    published = registry.official_sets("mffw")
    assert published == {s for s in sets if s.startswith("mffw2_")}
    assert registry.official_sets("embedded") == frozenset()
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        registry.image_sets("nope")


def test_image_sets_of_embedded_and_folder(tmp_path):
    sets = registry.image_sets("embedded")
    assert {s: i.n_sources for s, i in sets.items() if i.n_sources != 2} == {"chelsea_k3": 3, "motorcycle_k3": 3}
    assert all(i.reference and i.focus_map for i in sets.values())
    for name in ("source_1.png", "source_2.png", "source_3.png", "focus_map.png"):
        (tmp_path / "scene" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "scene" / name).write_bytes(b"")
    assert registry.image_sets("folder", tmp_path) == {"scene": registry.ImageSet("folder", "scene", 3, False, True)}
    with pytest.raises(ValueError, match="folder.path"):
        registry.image_sets("folder")


CONFIG_FUSERS = ["mffssim_paper", "mffssim_paper_long", "pixelwise", "average", "enfuse", "official"]
CONFIG_DETECTORS = ["lap", "given", "resnet"]


def test_set_methods_runs_or_skips_each_configured_method_with_its_reason():
    mffw = registry.image_sets("mffw")
    plan = registry.set_methods(CONFIG_FUSERS, CONFIG_DETECTORS, mffw["mffw2_01"], which=lambda program: None)
    assert plan == {
        "mffssim_paper-lap": None,
        "mffssim_paper-given": "the set has no annotated focus map",
        "mffssim_paper-resnet": None,
        "mffssim_paper_long-lap": None,
        "mffssim_paper_long-given": "the set has no annotated focus map",
        "mffssim_paper_long-resnet": "mffssim_paper_long has no rule for the resnet map",
        "pixelwise-lap": None,
        "pixelwise-given": "the set has no annotated focus map",
        "pixelwise-resnet": None,
        "average": None,
        "enfuse": "the enfuse program is not on PATH (Debian package enfuse)",
        "official_ms_lap": None,
        "official_ms_resnet": None,
    }
    unpublished = registry.set_methods(["official", "enfuse"], ["lap"], mffw["mffw3_01"], which=lambda p: f"/usr/bin/{p}")
    assert unpublished == {"official_ms_lap": "no published results for this set",
                           "official_ms_resnet": "no published results for this set", "enfuse": None}
    embedded = registry.set_methods(["official", "pixelwise"], ["given"], registry.image_sets("embedded")["camera"])
    assert embedded == {"official_ms_lap": "no published results for this data set",
                        "official_ms_resnet": "no published results for this data set", "pixelwise-given": None}


def test_skipped_methods_of_a_data_set_name_the_sets_where_only_some_skip():
    mffw = registry.image_sets("mffw")
    plans = {s: registry.set_methods(["pixelwise", "official"], ["lap", "given"], mffw[s], which=lambda p: None)
             for s in ("mffw2_06", "mffw3_01", "mffw2_08")}
    assert registry.skipped_methods(plans) == {
        "pixelwise-given": "the set has no annotated focus map (2 of 3 sets: mffw3_01, mffw2_08)",
        "official_ms_lap": "no published results for this set (1 of 3 sets: mffw3_01)",
        "official_ms_resnet": "no published results for this set (1 of 3 sets: mffw3_01)",
    }
    assert registry.skipped_methods({"mffw3_01": plans["mffw3_01"]})["pixelwise-given"] == "the set has no annotated focus map"
    assert registry.skipped_methods({}) == {}


def test_the_reasons_on_the_default_config_for_mffw_without_enfuse():
    """config.yaml's fusion.methods and focus.detectors (plus official) on MFFW's sets, enfuse not installed."""
    import yaml
    from helpers import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    fusers, detectors = config["fusion"]["methods"] + ["official"], config["focus"]["detectors"]
    sets = registry.image_sets("mffw")
    plans = {s: registry.set_methods(fusers, detectors, info, which=lambda program: None) for s, info in sets.items()}
    no_map = [s for s in sets if s != "mffw2_06"]
    unpublished = [s for s in sets if s.startswith("mffw3_")]
    expected = {f"{f}-given": f"the set has no annotated focus map (15 of 16 sets: {', '.join(no_map)})"
                for f in ("mffssim_paper", "mffssim_reference", "pixelwise")}
    expected["enfuse"] = "the enfuse program is not on PATH (Debian package enfuse)"
    expected |= {m: f"no published results for this set (6 of 16 sets: {', '.join(unpublished)})"
                 for m in ("official_ms_lap", "official_ms_resnet")}
    assert config["fusion"]["methods"] == ["mffssim_paper", "mffssim_reference", "pixelwise", "average", "enfuse"]
    assert registry.skipped_methods(plans) == expected
