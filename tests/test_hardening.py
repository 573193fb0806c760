"""Bad input at every level: the library call, the ``mffssim fuse`` command, a workflow job.

Each bad input must give ONE message naming the file (or the config key) and the problem, a non-zero exit
(2 for a bad input, 1 for a machine that cannot write), no partial output, and nothing already produced
deleted or changed: every command test starts with an ``out.png`` (and a saved map) from an earlier run
and checks they are byte-identical afterwards. docs/hardening.md lists every case and what it produced.
Downloads (wrong checksum, dead url, truncated or half-written file, 404, stale .part) are tested in
tests/test_datasets.py and tests/test_workflow.py; the bad-config schema cases in tests/test_workflow.py.
"""
from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
import yaml

import mffssim.io as mio
from mffssim.cli import main
from mffssim.datasets import DownloadError, download_dataset
from mffssim.fusion import fuse
from mffssim.io import (
    ImageError,
    read_focus_map,
    read_image,
    read_image_set,
    write_focus_map,
    write_image,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

H, W = 24, 30


def _pair(h=H, w=W, channels=3, seed=0):
    """Two 'sources' of one scene, each sharp on one half (blur is a box mean: fast, no scipy needed)."""
    rng = np.random.default_rng(seed)
    sharp = rng.random((h, w, channels)).astype(np.float32)
    blurred = (sharp + np.roll(sharp, 1, 0) + np.roll(sharp, 1, 1) + np.roll(sharp, (1, 1), (0, 1))) / 4
    first, second = sharp.copy(), sharp.copy()
    first[:, : w // 2] = blurred[:, : w // 2]
    second[:, w // 2 :] = blurred[:, w // 2 :]
    return first, second


def _good(folder: Path, name="good", suffix=".png", bit_depth=8, **kwargs) -> list[Path]:
    paths = [folder / f"{name}_1{suffix}", folder / f"{name}_2{suffix}"]
    for path, image in zip(paths, _pair(**kwargs)):
        write_image(path, image, bit_depth)
    return paths


def _mangle(path: Path, how: str) -> Path:
    data = bytearray(path.read_bytes())
    if how == "flip":  # one byte of the compressed pixel data
        data[len(data) // 2] ^= 0xFF
    elif how == "half":
        data = data[: len(data) // 2]
    elif how == "header":
        data[12:40] = bytes(28)
    out = path.with_name(f"{how}_{path.name}")
    out.write_bytes(bytes(data))
    return out


def _float_tiff(path: Path, value: float) -> Path:
    image = _pair(channels=1)[1][:, :, 0].copy()
    image[3, 4] = value
    tifffile.imwrite(path, image)
    return path


# Each case: (id, make(tmp) -> (sources, extra argv, the path or key the message must name), words of the problem).
def _case_corrupt_png(tmp):
    good = _good(tmp)
    bad = _mangle(good[1], "flip")
    return [good[0], bad], [], bad


def _case_damaged_png_header(tmp):
    good = _good(tmp)
    bad = _mangle(good[1], "header")
    return [good[0], bad], [], bad


def _case_truncated(suffix):
    def make(tmp):
        good = _good(tmp, suffix=suffix)
        bad = _mangle(good[1], "half")
        return [good[0], bad], [], bad

    return make


def _case_empty(tmp):
    good = _good(tmp)
    bad = tmp / "empty.png"
    bad.write_bytes(b"")
    return [good[0], bad], [], bad


def _case_not_an_image(tmp):
    good = _good(tmp)
    bad = tmp / "notes.jpg"
    bad.write_text("these are my holiday notes, not a photograph\n")
    return [good[0], bad], [], bad


def _case_directory(tmp):
    good = _good(tmp)
    (tmp / "folder.png").mkdir()
    return [good[0], tmp / "folder.png"], [], tmp / "folder.png"


def _case_missing(tmp):
    good = _good(tmp)
    return [good[0], tmp / "missing.png"], [], tmp / "missing.png"


def _case_sizes(tmp):
    good = _good(tmp)
    other = _good(tmp, name="small", h=H - 4)[1]
    return [good[0], other], [], other


def _case_gray_and_colour(tmp):
    good = _good(tmp)
    gray = _good(tmp, name="gray", channels=1)[1]
    return [good[0], gray], [], gray


def _case_bit_depths(tmp):
    good = _good(tmp)
    deep = _good(tmp, name="deep", bit_depth=16)[1]
    return [good[0], deep], [], deep


def _case_one_source(tmp):
    good = _good(tmp)
    return [good[0]], [], good[0]


def _case_smaller_than_window(tmp):
    tiny = _good(tmp, name="tiny", h=2, w=2)  # the default window is 3
    return tiny, [], tiny[0]


def _case_nan_tiff(tmp):
    good = _good(tmp, suffix=".tif", channels=1)
    return [good[0], _float_tiff(tmp / "nan.tif", np.nan)], [], tmp / "nan.tif"


def _case_inf_tiff(tmp):
    good = _good(tmp, suffix=".tif", channels=1)
    return [good[0], _float_tiff(tmp / "inf.tif", np.inf)], [], tmp / "inf.tif"


def _case_map_size(tmp):
    good = _good(tmp)
    write_focus_map(tmp / "map.png", np.ones((2, H, W - 2), np.float32))
    return good, ["--map", str(tmp / "map.png")], tmp / "map.png"


def _case_map_corrupt(tmp):
    good = _good(tmp)
    write_focus_map(tmp / "map.png", np.ones((2, H, W), np.float32))
    bad = _mangle(tmp / "map.png", "half")
    return good, ["--map", str(bad)], bad


def _case_output_is_a_source(tmp):
    good = _good(tmp)
    return good, ["-o", str(good[1])], good[1]


CASES = {
    "corrupt PNG (one byte of pixel data flipped)": (_case_corrupt_png, "cannot be read as an image"),
    "PNG with a damaged header": (_case_damaged_png_header, "cannot be read as an image"),
    "truncated PNG": (_case_truncated(".png"), "cannot be read as an image"),
    "truncated JPEG": (_case_truncated(".jpg"), "truncated"),
    "truncated TIFF": (_case_truncated(".tif"), "cannot be read as an image"),
    "empty file": (_case_empty, "file is empty"),
    "text file named .jpg": (_case_not_an_image, "not an image file (its content is none of PNG, TIFF, JPEG, BMP, GIF)"),
    "directory named .png": (_case_directory, "no such file (it is a directory)"),
    "missing file": (_case_missing, "no such file"),
    "sources of different sizes": (_case_sizes, "size 30x20 differs"),
    "gray + colour sources": (_case_gray_and_colour, "1 channel(s) but"),
    "8-bit + 16-bit sources": (_case_bit_depths, "bit depth 16 differs"),
    "one source": (_case_one_source, "at least two sources"),
    "images smaller than the window": (_case_smaller_than_window, "smaller than the window"),
    "NaN in a float TIFF": (_case_nan_tiff, "NaN or infinite"),
    "inf in a float TIFF": (_case_inf_tiff, "NaN or infinite"),
    "focus map of the wrong size": (_case_map_size, "focus map is 28x24 but the sources are 30x24"),
    "truncated focus map": (_case_map_corrupt, "cannot be read as an image"),
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def earlier_run(tmp_path):
    """An output folder holding a fused image and a map from an earlier run, which no failure may touch."""
    out = tmp_path / "out"
    first, second = _pair()
    write_image(out / "out.png", (first + second) / 2)
    write_focus_map(out / "map.png", np.stack([np.ones((H, W)), np.zeros((H, W))]))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_library_refuses_naming_the_file(tmp_path, case):
    make, problem = CASES[case]
    sources, extra, named = make(tmp_path)
    with pytest.raises((ImageError, ValueError)) as caught:
        if "--map" in extra:
            read_focus_map(extra[1], 2, shape=(H, W))
        else:
            stack, _ = read_image_set(sources)
            fuse(stack, iterations=1, device="cpu")  # images smaller than the window fail here
    message = str(caught.value)
    if case == "images smaller than the window":  # fuse() sees arrays, not files: it names the argument
        assert message == "window: 3 is larger than the 2x2 image"
    else:
        assert problem in message and str(named) in message, message


@pytest.mark.parametrize("case", list(CASES) + ["-o names a source"])
def test_command_refuses_in_one_line_and_touches_nothing(tmp_path, earlier_run, case, capsys):
    make, problem = CASES.get(case, (_case_output_is_a_source, "-o would overwrite a source"))
    sources, extra, named = make(tmp_path)
    before, inputs = _snapshot(earlier_run), {p: p.read_bytes() for p in sources if p.is_file()}
    argv = ["fuse", *map(str, sources), "-o", str(earlier_run / "out.png"), "--save-map", str(earlier_run / "map.png"),
            *extra, "--iterations", "1", "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("mffssim fuse: error: ") and str(named) in err and problem in err, err
    assert _snapshot(earlier_run) == before  # same files, same bytes, no temporary left
    assert {p: p.read_bytes() for p in inputs} == inputs


def test_fuse_refuses_bad_arrays_naming_the_argument():
    first, second = _pair()
    sources = np.stack([first, second])
    for bad, words in [
        (np.where(np.arange(W)[:, None] == 3, np.nan, sources), "sources: values must be finite"),
        (np.where(np.arange(W)[:, None] == 3, np.inf, sources), "sources: values must be finite"),
        ((sources * 255).astype(np.uint8), "sources: values must lie in [0, 1]"),
        (sources[:1], "K >= 2"),
        (sources[:, :2, :2], "window: 3 is larger than the 2x2 image"),
    ]:
        with pytest.raises(ValueError) as caught:
            fuse(bad, iterations=1, device="cpu")
        assert words in str(caught.value)
    with pytest.raises(ValueError, match=r"focus_map: expected shape \(2, 24, 30\)"):
        fuse(sources, np.ones((2, H, W - 2)), iterations=1, device="cpu")
    with pytest.raises(ValueError, match=r"lr: must be a positive number up to 1e\+30, got 3\.4e\+37"):
        fuse(sources, iterations=1, lr=3.4e37, device="cpu")  # found by fuzzing: float32 overflow in torch
    with pytest.raises(ValueError, match=r"device: 'cpu:x' is not a device name torch accepts"):
        fuse(sources, iterations=1, device="cpu:x")  # torch itself raises RuntimeError


def test_command_refuses_a_malformed_device(tmp_path, capsys):
    sources = _good(tmp_path)
    assert main(["fuse", *map(str, sources), "-o", str(tmp_path / "out.png"), "--device", "cpu:x", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mffssim fuse: error: --device: ") and err.count("\n") == 1, err
    assert not (tmp_path / "out.png").exists()


def test_command_out_of_memory_is_one_line(tmp_path, earlier_run, monkeypatch, capsys):
    """torch's OutOfMemoryError (a GPU too small for the images) ends the command like a full disk: status 1.
    Simulated; test_command_real_cuda_out_of_memory raises a real one where a GPU is."""
    import mffssim.fusion

    def fuse_oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB.\nSee the documentation")

    monkeypatch.setattr(mffssim.fusion, "fuse", fuse_oom)
    sources, before = _good(tmp_path), _snapshot(earlier_run)
    assert main(["fuse", *map(str, sources), "-o", str(earlier_run / "out.png"), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mffssim fuse: error: out of GPU memory (CUDA out of memory.") and err.count("\n") == 1, err
    assert _snapshot(earlier_run) == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (a real out-of-memory error on it)")
def test_command_real_cuda_out_of_memory(tmp_path, earlier_run, capsys):
    sources, before = _good(tmp_path, h=1024, w=1024), _snapshot(earlier_run)
    torch.cuda.set_per_process_memory_fraction(40e6 / torch.cuda.get_device_properties(0).total_memory)  # 40 MB
    try:
        code = main(["fuse", *map(str, sources), "-o", str(earlier_run / "out.png"), "--device", "cuda",
                     "--iterations", "2", "-q"])
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("mffssim fuse: error: out of GPU memory (") and err.count("\n") == 1, err
    assert _snapshot(earlier_run) == before


# ---------------------------------------------------------------------------------- writing fails
def _make_read_only(folder: Path, monkeypatch) -> None:
    """chmod the folder read-only; where that binds nobody (root), refuse writes into it the way the kernel does."""
    folder.chmod(0o555)
    if not os.access(folder, os.W_OK):
        return
    real_access, real_mkstemp = os.access, tempfile.mkstemp

    def access(path, mode, **kwargs):
        if Path(path).absolute() == folder.absolute() and mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    def mkstemp(suffix=None, prefix=None, dir=None, text=False):
        if dir is not None and Path(dir).absolute() == folder.absolute():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(Path(dir) / f"{prefix}x{suffix}"))
        return real_mkstemp(suffix=suffix, prefix=prefix, dir=dir, text=text)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def _disk_full_after(n_writes: int, monkeypatch) -> None:
    """Let the first ``n_writes`` image encodings succeed, then fail the next half-way with ENOSPC."""
    real = mio._encode
    calls = []

    def encode(tmp, data, suffix):
        calls.append(tmp)
        if len(calls) <= n_writes:
            return real(tmp, data, suffix)
        Path(tmp).write_bytes(b"\x89PNG\r\n\x1a\n half of it")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(mio, "_encode", encode)


def test_read_only_folder(tmp_path, earlier_run, monkeypatch, capsys):
    sources = _good(tmp_path)
    before = _snapshot(earlier_run)
    try:
        _make_read_only(earlier_run, monkeypatch)
        with pytest.raises(PermissionError) as caught:  # the library: the error names the file, not a temporary
            write_image(earlier_run / "out.png", _pair()[0])
        assert caught.value.filename == str(earlier_run / "out.png")
        code = main(["fuse", *map(str, sources), "-o", str(earlier_run / "out.png"), "--iterations", "1", "-q"])
        err = capsys.readouterr().err
        assert code == 2 and err == f"mffssim fuse: error: {earlier_run / 'out.png'}: -o cannot be written, {earlier_run} is read-only\n"
        code = main(["fuse", *map(str, sources), "-o", str(tmp_path / "new.png"), "--save-map",
                     str(earlier_run / "new_map.png"), "--iterations", "1", "-q"])
        err = capsys.readouterr().err
        assert code == 2 and "--save-map cannot be written" in err and str(earlier_run) in err
        assert not (tmp_path / "new.png").exists()  # checked before any work: nothing written anywhere
    finally:
        earlier_run.chmod(0o755)
    assert _snapshot(earlier_run) == before


def test_full_disk_leaves_the_old_files(tmp_path, earlier_run, monkeypatch, capsys):
    sources = _good(tmp_path)
    before = _snapshot(earlier_run)
    if Path("/dev/full").exists():  # the kernel's own ENOSPC, from a writer that fails half-way
        def writer(tmp):
            tmp.write_bytes(b"half")
            Path("/dev/full").write_bytes(b"the rest")

        with pytest.raises(OSError) as caught:
            mio.atomic_write(earlier_run / "out.png", writer)
        assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(earlier_run / "out.png")
        assert _snapshot(earlier_run) == before
    _disk_full_after(0, monkeypatch)
    with pytest.raises(OSError) as caught:
        write_image(earlier_run / "deep" / "er" / "out.png", _pair()[0])
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(earlier_run / "deep" / "er" / "out.png")
    assert _snapshot(earlier_run) == before  # no temporary, and no folder this write made
    # the command: the image is written, the disk fills up on the map: neither file changes
    monkeypatch.undo()
    _disk_full_after(1, monkeypatch)
    code = main(["fuse", *map(str, sources), "-o", str(earlier_run / "out.png"), "--save-map",
                 str(earlier_run / "map.png"), "--iterations", "1", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and err == f"mffssim fuse: error: {earlier_run / 'map.png'}: No space left on device\n"
    assert _snapshot(earlier_run) == before


def test_write_image_refuses_what_it_cannot_round_trip(tmp_path):
    for array, words in [
        (np.zeros((0, 5)), "without pixels"),
        (np.zeros((5, 5, 4)), "(H, W, 1 or 3)"),
        (np.zeros((5, 5, 2)), "(H, W, 1 or 3)"),
        (np.zeros((2, 5, 5, 3)), "(H, W, 1 or 3)"),
        (np.zeros((5, 5), np.int64), "int64"),
        (np.zeros((5, 5), np.complex64), "complex64"),
        (np.full((5, 5), np.nan), "NaN"),
    ]:
        with pytest.raises(ValueError) as caught:
            write_image(tmp_path / "x.png", array)
        assert str(tmp_path / "x.png") in str(caught.value) and words in str(caught.value)
    assert list(tmp_path.iterdir()) == []
    write_image(tmp_path / "deep.jpg", np.full((4, 4, 3), 65535, np.uint16))  # 16-bit data into an 8-bit format
    assert read_image(tmp_path / "deep.jpg").min() > 0.98


def test_huge_declared_size_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    write_image(path, np.zeros((4, 4)))
    data = bytearray(path.read_bytes())
    data[16:24] = (1 << 20).to_bytes(4, "big") * 2  # IHDR: 1048576 x 1048576 pixels (its CRC is not checked first)
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match=r"bomb\.png: declares 1048576x1048576 pixels"):
        read_image(path)


# ---------------------------------------------------------------------------------- downloads
def _tiny_dataset(tmp_path: Path, payload: bytes = b"a small file that stands in for an image") -> tuple[Path, Path]:
    (tmp_path / "mirror" / "tiny" / "set").mkdir(parents=True)
    (tmp_path / "mirror" / "tiny" / "set" / "source_1.png").write_bytes(payload)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "tiny.tsv").write_text(
        "dest\tsha256\tbytes\turl\n"
        f"set/source_1.png\t{hashlib.sha256(payload).hexdigest()}\t{len(payload)}\thttps://example.org/x\n"
    )
    return tmp_path / "mirror", manifests


def test_download_into_a_read_only_folder(tmp_path, monkeypatch):
    mirror, manifests = _tiny_dataset(tmp_path)
    dest = tmp_path / "data" / "set"
    dest.mkdir(parents=True)
    _make_read_only(dest, monkeypatch)
    try:
        with pytest.raises(DownloadError, match=r"set/source_1\.png: cannot write into .*set \(Permission denied\)"):
            download_dataset("tiny", tmp_path / "data", mirror=mirror, manifest_dir=manifests)
    finally:
        dest.chmod(0o755)
    assert list(dest.iterdir()) == []


def test_download_onto_a_full_disk_is_not_retried(tmp_path, monkeypatch):
    import mffssim.datasets.download as download

    mirror, manifests = _tiny_dataset(tmp_path)

    class Full:
        def __init__(self, path, mode):
            self.handle = open(path, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def read(self, size=-1):  # the directory mirror's file is opened through the same name
            return self.handle.read(size)

        def write(self, chunk):
            self.handle.write(chunk[:3])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(download, "open", Full, raising=False)
    with pytest.raises(DownloadError, match=r"failed after 1 attempt\(s\): writing it failed: No space left on device"):
        download_dataset("tiny", tmp_path / "data", mirror=mirror, manifest_dir=manifests, retries=3, backoff=10)
    assert [p for p in (tmp_path / "data").rglob("*") if p.is_file()] == []  # no .part left


# ---------------------------------------------------------------------------------- the workflow
@pytest.mark.slow
@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"figures": {"methods": ["mffssim_paper-lap", "sobel"]}}, "config key figures.methods: unknown method id(s) ['sobel']"),
        ({"experiments": {"multi_source": {"figure_methods": ["mffssim_paper_long-resnet"]}}},
         "config key experiments.multi_source.figure_methods: unknown method id(s) ['mffssim_paper_long-resnet']"),
        ({"download": {"mirror": "/nowhere/data"}}, "config key download.mirror: /nowhere/data is neither a directory"),
        ({"datasets": ["embedded", "nyu_d_100"], "focus": {"detectors": ["lap", "resnet"]},
          "detector": {"source": ["embedded", "nyu_d_100"]}},
         "config key detector.source: the detector would train on ['nyu_d_100'], which `datasets` also fuses"),
    ],
)
def test_config_values_the_schema_lets_through(tmp_path, values, named):
    """Checked in rules/common.smk when the workflow is parsed: the schema takes any string there."""
    from helpers import snakemake, write_config

    proc = snakemake(tmp_path, "-n", configs=(write_config(tmp_path / "bad.yaml", values),))
    assert proc.returncode != 0 and named in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_unknown_method_names_the_key():
    """An unknown fusion method (unknown data sets, detectors, optimisers: tests/test_workflow.py)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    repo = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((repo / "config.yaml").read_text())
    config["fusion"]["methods"] = ["mffssim_paper", "nope"]
    with pytest.raises(WorkflowError) as error:
        validate(config, str(repo / "schemas" / "config.schema.yaml"))
    assert "'nope' is not one of" in str(error.value) and "['fusion']['methods']" in str(error.value)


@pytest.mark.slow
def test_workflow_job_with_a_corrupt_source(tmp_path):
    """A `folder` data set whose first set was fused before; a set with a truncated photo fails its job: the
    run fails, the job's log says which file in one line, no fused image is left for it, and the first
    set's result is untouched (same bytes, same time stamp)."""
    from helpers import snakemake, write_config

    photos = tmp_path / "photos"
    for name in ("garden", "desk"):
        _good(photos / name, name="source", suffix=".png")
    bad = photos / "desk" / "source_2.png"
    bad.write_bytes(bad.read_bytes()[:200])
    done = tmp_path / "results" / "folder" / "garden" / "average" / "fused.png"
    write_image(done, np.zeros((H, W, 3)))  # an earlier run's result (up to date: newer than its sources)
    produced, stamp = done.read_bytes(), done.stat().st_mtime_ns
    config = write_config(tmp_path / "folder.yaml", {
        "datasets": ["folder"], "folder": {"path": str(photos)}, "fusion": {"methods": ["average"]},
    })
    proc = snakemake(tmp_path, "results/folder/garden/average/fused.png", "results/folder/desk/average/fused.png",
                     configs=(config,))
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "fusion" / "folder" / "desk" / "average.log").read_text()
    assert log.count("\n") == 1 and log.startswith(f"fuse_average: error: {bad}: cannot be read as an image"), log
    assert f"{bad}: cannot be read as an image" in proc.stdout + proc.stderr  # snakemake shows the log
    assert not (tmp_path / "results" / "folder" / "desk" / "average" / "fused.png").exists()
    assert done.read_bytes() == produced and done.stat().st_mtime_ns == stamp
