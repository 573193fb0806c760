"""Fuzzing the image readers, the writer and the ``mffssim fuse`` command with hypothesis.

Bounded and deterministic (derandomize, no example database), so CI runs the same examples every time:
- random bytes and mutated valid PNG / TIFF / JPEG / BMP files into ``read_image``: an image in [0, 1] comes
  back, or an ImageError naming the file; nothing else may escape;
- the same files, and random option values, into ``mffssim fuse``: status 0 with the output written, or
  status 2 (bad input) / 1 (cannot write) with one line on stderr and nothing written; never a traceback;
- random small arrays (shapes, dtypes, NaN) through ``write_image`` / ``read_image``: an exact round trip
  at the file's bit depth, or a ValueError naming the file and no file.
"""
from __future__ import annotations

import io
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from mffssim.cli import main
from mffssim.io import ImageError, read_image, read_image_and_depth, write_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# MFFSSIM_FUZZ_EXAMPLES=5000 runs a longer, random (not derandomized) campaign by hand
_CAMPAIGN = int(os.environ.get("MFFSSIM_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_CAMPAIGN or 60, deadline=None, derandomize=not _CAMPAIGN, database=None, print_blob=bool(_CAMPAIGN),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_COUNTER = itertools.count()


def _valid_files() -> dict[str, bytes]:
    """Small valid files of every kind the readers take (8/16-bit, gray/colour, float TIFF)."""
    rng = np.random.default_rng(0)
    rgb = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
    gray16 = (rng.random((12, 10)) * 65535).astype(np.uint16)
    files = {}
    for name, array, fmt in [("rgb.png", rgb, "PNG"), ("gray.jpg", rgb[:, :, 0], "JPEG"), ("rgb.jpg", rgb, "JPEG"),
                             ("rgb.bmp", rgb, "BMP"), ("gray16.png", gray16, "PNG")]:
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format=fmt)
        files[name] = buffer.getvalue()
    for name, array in [("rgb16.tif", (rng.random((12, 10, 3)) * 65535).astype(np.uint16)),
                        ("float.tif", rng.random((12, 10)).astype(np.float32)), ("gray.tif", rgb[:, :, 1])]:
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, array, photometric="rgb" if array.ndim == 3 else "minisblack")
        files[name] = buffer.getvalue()
    return files


VALID = _valid_files()


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A valid file with a few bytes flipped, overwritten, inserted or cut, or truncated."""
    name = draw(st.sampled_from(sorted(VALID)))
    data = bytearray(VALID[name])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[at] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            del data[at:]
    return name, bytes(data)


def _any_bytes():
    """A mutated valid file (three times in four), or random bytes under an image name."""
    names = st.sampled_from(["x.png", "x.tif", "x.jpg", "x.bmp", "x.gif", "x.tiff", "x.jpeg"])
    return st.integers(0, 3).flatmap(lambda pick: st.tuples(names, st.binary(max_size=300)) if pick == 0 else mutated())


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _place(folder: Path, name: str, data: bytes) -> Path:
    path = folder / f"{next(_COUNTER)}_{name}"
    path.write_bytes(data)
    return path


def _check_image(image: np.ndarray) -> None:
    assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] in (1, 3) and image.size > 0
    assert np.all(np.isfinite(image)) and image.min() >= 0.0 and image.max() <= 1.0


@settings(FUZZ, max_examples=_CAMPAIGN or 100)
@given(case=_any_bytes())
def test_read_image_gives_an_image_or_an_image_error(folder, case):
    path = _place(folder, *case)
    try:
        image, depth = read_image_and_depth(path)
    except ImageError as error:
        assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
        event(f"ImageError: {str(error)[len(str(path)) + 2:][:40]}")
        return
    event(f"read {path.suffix}")
    _check_image(image)
    assert depth in (8, 16, 32)


@pytest.fixture(scope="module")
def good_source(folder) -> Path:
    """The valid first source of every fuzzed command: 12x10 colour, like most fuzzed files."""
    return _place(folder, "rgb.png", VALID["rgb.png"])


def _run(argv, capsys, output: Path):
    code = main(argv)
    err = capsys.readouterr().err
    event(f"exit {code}: {err.split(': ', 3)[-1][:30] if code else ''}")
    if code == 0:
        assert output.is_file()
        _check_image(read_image(output))
        assert [p.name for p in output.parent.iterdir()] == [output.name]  # no temporary left
        output.unlink()
        output.parent.rmdir()
    else:
        assert code in (1, 2), (code, err)
        assert err.startswith("mffssim fuse: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        assert not output.parent.exists()  # nothing written, no folder made
    return code, err


@FUZZ
@given(case=_any_bytes())
def test_fuse_command_on_fuzzed_sources(folder, good_source, case, capsys):
    path = _place(folder, *case)
    output = folder / "out" / "fused.png"
    code, err = _run(["fuse", str(good_source), str(path), "-o", str(output), "--iterations", "1", "--window", "3", "-q"],
                     capsys, output)
    if code != 0:
        assert str(path) in err or str(good_source) in err, err


def _small_int_or_text(text: str) -> bool:
    """Reject option values that would make the command work for long (many iterations)."""
    try:
        return int(text) <= 3
    except ValueError:
        return True


OPTION_VALUES = {
    "--window": st.one_of(st.text(max_size=6), st.integers(-5, 40).map(str)),
    "--iterations": st.one_of(st.text(max_size=6), st.integers(-3, 3).map(str)).filter(_small_int_or_text),
    "--lr": st.one_of(st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    "--tol": st.one_of(st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=True).map(repr)),
    "--device": st.one_of(st.text(max_size=8), st.sampled_from(["cpu", "cuda", "cpu:0", "cpu:x", "cuda:x", "tpu", "auto:1"])),
    "--init": st.sampled_from(["mean", "pixelwise"]) | st.text(max_size=10),
    "--variant": st.sampled_from(["paper", "reference"]) | st.text(max_size=10),
    "--optimizer": st.sampled_from(["adam", "gd", "adam-cosine"]) | st.text(max_size=12),
    "--detector": st.sampled_from(["lap", "resnet", "sobel", ""]),
    "--weights": st.sampled_from(["", "missing.pt", "rgb.png"]),
    "--map": st.sampled_from(["", "missing.png", "notes.png"]),
    "--save-map": st.sampled_from(["map.png", "map.jpg", "", "out"]),
}


@FUZZ
@given(options=st.dictionaries(st.sampled_from(sorted(OPTION_VALUES)), st.just(None), max_size=4).flatmap(
    lambda chosen: st.fixed_dictionaries({key: OPTION_VALUES[key] for key in chosen})))
def test_fuse_command_on_fuzzed_options(folder, good_source, options, capsys):
    assume(all("\x00" not in value for value in options.values()))
    work = folder / f"options_{next(_COUNTER)}"
    work.mkdir()
    (work / "notes.png").write_text("not a map")
    (work / "rgb.png").write_bytes(VALID["rgb.png"])
    second = _place(folder, "rgb.png", VALID["rgb.png"])
    output = work / "out" / "fused.png"
    argv = ["fuse", str(good_source), str(second), "-o", str(output), "-q"]
    if "--iterations" not in options:
        argv += ["--iterations", "1"]
    for key, value in options.items():
        if key in ("--weights", "--map", "--save-map") and value:
            value = str(work / value)
        argv.append(f"{key}={value}")
    _run(argv, capsys, output)
    left = {p.name for p in work.iterdir()} - {"notes.png", "rgb.png", "out"}
    assert left <= {"map.png"}, left  # --save-map writes its map with the image, and nothing else is made


def _array_case():
    shapes = st.one_of(
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        st.tuples(st.integers(1, 6), st.integers(1, 6), st.sampled_from([1, 2, 3, 4])),
        st.sampled_from([(0, 4), (3, 0, 3), (2, 2, 2, 3)]),
    )
    dtypes = st.sampled_from([np.float32, np.float64, np.uint8, np.uint16, np.bool_, np.int16])
    return st.tuples(dtypes, shapes).flatmap(
        lambda ds: st.tuples(hnp.arrays(ds[0], ds[1], elements=_elements(ds[0])), st.sampled_from([".png", ".tif", ".bmp"]),
                             st.sampled_from([8, 16]))
    )


def _elements(dtype):
    if np.issubdtype(dtype, np.floating):
        return st.floats(-0.5, 1.5, width=32) | st.sampled_from([np.nan, np.inf, 0.0, 1.0])
    return None


@FUZZ
@given(case=_array_case())
def test_write_read_round_trip(folder, case):
    array, suffix, bit_depth = case
    path = folder / f"{next(_COUNTER)}_array{suffix}"
    valid_shape = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3))
    valid = valid_shape and array.size > 0 and array.dtype != np.int16
    if np.issubdtype(array.dtype, np.floating):
        valid = valid and bool(np.all(np.isfinite(array)))
    if not valid:
        with pytest.raises(ValueError) as caught:
            write_image(path, array, bit_depth)
        assert str(path) in str(caught.value)
        assert not path.exists()
        return
    write_image(path, array, bit_depth)
    back, depth = read_image_and_depth(path)
    expected_depth = 8 if suffix == ".bmp" else bit_depth
    if array.dtype in (np.uint8, np.bool_):
        expected_depth, values = 8, array.astype(np.float64) * (1.0 if array.dtype == np.bool_ else 1 / 255)
    elif array.dtype == np.uint16:
        if suffix == ".bmp":
            values = np.round(array / 65535.0 * 255) / 255
        else:
            expected_depth, values = 16, array / 65535.0
    else:
        top = 2**expected_depth - 1
        values = np.round(np.clip(array.astype(np.float32), 0, 1) * top) / top
    assert depth == expected_depth
    assert back.shape == (array.shape[0], array.shape[1], 1 if array.ndim == 2 else array.shape[2])
    np.testing.assert_allclose(back, values.reshape(back.shape), atol=1e-6)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
