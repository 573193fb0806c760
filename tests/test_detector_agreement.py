"""Agreement of focus maps with the authors': informative pixels, per-pair measures, per-split summary."""
import math

import numpy as np
import pytest

from mffssim.workflow.experiments.agreement import map_agreement
from mffssim.workflow.experiments.detector_agreement import (
    informative_pixels, pair_record, split_of, summarise, write_detector_agreement,
)


def _one_hot(first):
    first = np.asarray(first, dtype=np.float32)
    return np.stack([first, 1 - first])


def test_informative_pixels_follow_the_7x7_mean_difference():
    pair = np.zeros((2, 30, 30, 3))
    pair[0, :, 15:] = 3 / 255  # right half differs by 3 gray levels, left half identical
    informative = informative_pixels(pair)
    assert informative[:, 19:].all() and not informative[:, :12].any()
    # a 7x7 mean: 3 levels x n/7 columns that differ > 2 where n >= 5, from column 16 on (window 13..19)
    assert informative[0, 16] and not informative[0, 15]
    pair[0, :, 15:] = 2 / 255  # exactly 2 levels: not informative (strictly above)
    assert not informative_pixels(pair).any()
    # channels are averaged: one channel off by 6 levels is 2 levels of the mean
    pair[0] = 0
    pair[0, ..., 1] = 6 / 255
    assert not informative_pixels(pair).any()
    assert informative_pixels(pair[..., 1]).all()  # gray pair of that channel: 6 levels


def test_map_agreement_on_a_mask():
    ours, theirs = _one_hot([[1, 1, 0, 0]]), _one_hot([[1, 0, 0, 1]])
    assert map_agreement(ours, theirs) == 50.0
    assert map_agreement(ours, theirs, np.array([[True, False, True, False]])) == 100.0
    assert map_agreement(ours, theirs, np.array([[False, True, False, True]])) == 0.0
    assert math.isnan(map_agreement(ours, theirs, np.zeros((1, 4), bool)))
    with pytest.raises(ValueError, match="pixel mask"):
        map_agreement(ours, theirs, np.ones((2, 2), bool))


def test_pair_record_and_summary(tmp_path):
    rng = np.random.default_rng(0)
    sources = rng.random((2, 12, 12))
    sources[:, :, :6] = 0.5  # left half flat and equal: not informative
    truth = np.zeros((12, 12))
    truth[:, 8:] = 1
    ours = truth.copy()
    ours[:, :3] = 1 - ours[:, :3]  # wrong only in the flat half, out of reach of the 7x7 window
    maps = {"resnet": _one_hot(ours), "their_resnet": _one_hot(truth), "lap": _one_hot(truth),
            "their_lap": _one_hot(1 - truth)}
    record = pair_record("lytro", "lytro_01", sources, maps, split="tune")
    assert record["resnet_all"] == 75.0 and record["resnet_informative"] == 100.0
    assert record["lap_all"] == 0.0 and record["theirs_resnet_lap"] == 0.0
    assert record["informative_share"] == 75.0  # columns 3-11: the 7x7 window reaches the texture
    other = pair_record("lytro", "lytro_02", sources, {k: maps[k] for k in ("resnet", "their_resnet")},
                        split="report")
    assert math.isnan(other["lap_all"])
    summary = {(r["dataset"], r["split"]): r for r in summarise([record, other])}
    assert summary[("lytro", "all")]["pairs"] == 2 and summary[("lytro", "tune")]["pairs"] == 1
    assert summary[("lytro", "all")]["resnet_all_mean"] == 75.0
    assert summary[("lytro", "all")]["resnet_informative_min"] == 100.0
    write_detector_agreement([record, other], tmp_path / "a.csv", tmp_path / "m.csv", tmp_path / "a.md",
                             settings={"weights": "w.pt"})
    text = (tmp_path / "a.md").read_text()
    assert "lytro_02" in text and "w.pt" in text and "informative" in text
    with pytest.raises(ValueError, match="split"):
        pair_record("lytro", "x", sources, maps, split="train")


def test_split_of():
    tune = {"lytro": ["lytro_01"]}
    assert split_of("lytro", "lytro_01", tune) == "tune"
    assert split_of("lytro", "lytro_02", tune) == "report" and split_of("mffw", "mffw2_01", tune) == "report"
