"""The scripts' shared glue (scripts/_wf.py): reading one image set for a job."""
from __future__ import annotations

import sys

import numpy as np
import pytest
from helpers import REPO

from mffssim.io import ImageError, write_image

sys.path.insert(0, str(REPO / "scripts"))
from _wf import load_image_set  # noqa: E402


def _write_set(folder, depth, reference):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in (1, 2, 3):
        write_image(folder / f"source_{k}.png", rng.random((6, 5, 1), dtype=np.float32), depth)
    if reference:
        write_image(folder / "reference.png", rng.random((6, 5, 1), dtype=np.float32), depth)


@pytest.mark.parametrize("depth", [8, 16])
def test_load_image_set_reads_sources_depth_and_the_reference_when_asked(tmp_path, depth):
    _write_set(tmp_path / "scene", depth, reference=True)
    loaded = load_image_set(str(tmp_path / "scene"), reference=True)
    files, sources, bit_depth, reference = loaded
    assert [p.name for p in files.sources] == ["source_1.png", "source_2.png", "source_3.png"]
    assert sources.shape == (3, 6, 5, 1) and sources.dtype == np.float32
    assert bit_depth == depth == loaded.write_depth
    assert reference.shape == (6, 5, 1)
    assert load_image_set(str(tmp_path / "scene")).reference is None  # not asked for: not read


def test_load_image_set_without_reference_and_in_a_folder_that_is_no_set(tmp_path):
    _write_set(tmp_path / "scene", 8, reference=False)
    assert load_image_set(str(tmp_path / "scene"), reference=True).reference is None
    with pytest.raises(ImageError, match="not an image set"):
        load_image_set(str(tmp_path / "nothing"))
