"""Manifests and the checksummed download, exercised through the real code path against local mirrors."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import helpers
from mffssim.datasets import (
    DATASETS,
    TESTVECTOR_SETS,
    DownloadError,
    dataset_set_ids,
    download_dataset,
    load_manifest,
    verify_dataset,
)
from mffssim.datasets.download import source_of
from mffssim.datasets.manifest import default_manifest_dir, parse_manifest

REPO = Path(__file__).resolve().parents[1]

# file and image-set counts stated in each data set's SOURCE.md (beside its sources.tsv)
COUNTS = {
    "mffw": (43, 16), "lytro": (53, 24), "grayscale": (20, 10), "mfifb": (164, 82), "nyu_d_100": (300, 100),
    "mf_voc_subset": (360, 120), "mffssim_official_results": (160, 3), "mffssim_examples": (3, 1),
    "voc_seg_samples": (28, 14), "focus_stack_examples": (18, 2),
    "mfifb_results": (3060, 102),
}
HEADER = "dest\tsha256\tbytes\turl\n"


def _no_part_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".part")]


def _write_manifest(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.tsv").write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return folder


def _rows(name: str, prefix: str) -> list[str]:
    """The real manifest rows of ``name`` whose dest starts with ``prefix``."""
    return [f"{e.dest}\t{e.sha256}\t{e.bytes}\t{e.url}" for e in load_manifest(name) if e.dest.startswith(prefix)]


# ----------------------------------------------------------------------------- manifests
def test_manifest_folder_holds_exactly_the_datasets():
    assert sorted(p.stem for p in default_manifest_dir().glob("*.tsv")) == sorted(DATASETS)
    assert set(COUNTS) == set(DATASETS)


@pytest.mark.parametrize("name", DATASETS)
def test_manifest_parses_with_the_documented_counts(name):
    entries = load_manifest(name)
    files, sets = COUNTS[name]
    assert len(entries) == files
    assert len(dataset_set_ids(name)) == sets
    assert all(len(e.sha256) == 64 and e.bytes > 0 and e.url.startswith("https://") for e in entries)
    assert len({e.dest for e in entries}) == files


def test_set_ids_skip_top_level_files():
    ids = dataset_set_ids("lytro")
    assert "Readme_original.txt" not in ids
    assert ids[:2] == ["lytro_01", "lytro_02"] and ids[-1] == "lytro_triple_04"
    assert dataset_set_ids("grayscale") == [f"g_{i:02d}" for i in range(1, 11)]


def test_manifests_are_up_to_date_with_their_sources(mirror_dir):
    """The committed manifests (the data sets') equal what tools/make_manifests.py makes from a
    full local copy (each set's sources.tsv and SOURCE.md), and the copy's files match them."""
    if not (mirror_dir / "grayscale" / "sources.tsv").is_file():
        helpers.missing(f"{mirror_dir} holds no sources.tsv (a download-only mirror)")
    run = subprocess.run(
        [sys.executable, str(REPO / "tools" / "make_manifests.py"), "--check", "--data", str(mirror_dir)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr


def test_testvector_manifests():
    """The test vectors' manifests (read from the mirror, not committed) are like the data sets': counts,
    public pinned urls, the rows the MATLAB-equivalence tests are built from (known before downloading)."""
    counts = {"fusion_metrics": 79, "fsim": 4}
    assert set(TESTVECTOR_SETS) == set(counts) and not set(TESTVECTOR_SETS) & set(DATASETS)
    for name, files in counts.items():
        manifest_dir, problem = helpers.vector_manifests(name)
        if problem is not None:
            helpers.missing(problem)
        entries = load_manifest(name, manifest_dir)
        assert len(entries) == files
        assert all(e.url.startswith("https://raw.githubusercontent.com/") for e in entries)
    rows = helpers.fusion_rows()
    per_image = {image: sum(r["image"] == image for r in rows) for image in ("c_01", "c_02", "g_01", "g_02")}
    assert per_image == {"c_01": 18, "c_02": 15, "g_01": 18, "g_02": 18}


def test_missing_test_data_skips_with_the_reason_or_fails_under_ci(tmp_path, monkeypatch, dead_url):
    """No mirror and no reachable url: a skip naming the missing files; under CI=true a failure."""
    real = helpers.download_dataset

    def offline(name, dest_dir, *, mirror=None, **options):  # the public urls, as seen without network
        return real(name, dest_dir, mirror=dead_url if mirror is None else mirror, **options)

    monkeypatch.setattr(helpers, "download_dataset", offline)
    monkeypatch.setenv("MFFSSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MFFSSIM_MIRROR", raising=False)
    for ci, outcome in (("", pytest.skip.Exception), ("true", pytest.fail.Exception)):
        monkeypatch.setenv("CI", ci)
        helpers._fetch.cache_clear()
        start = time.monotonic()
        with pytest.raises(outcome) as caught:
            helpers.fetch("fsim")
        assert time.monotonic() - start < 10
        message = str(caught.value)
        assert "testvectors 'fsim': 4 of 4 files missing" in message and "goldhill.gif" in message
        assert "MFFSSIM_MIRROR is not set" in message and ("CI=true" in message) == bool(ci)
    # a mirror without the files is named too
    monkeypatch.setenv("MFFSSIM_MIRROR", str(tmp_path / "empty"))
    monkeypatch.setenv("CI", "")
    helpers._fetch.cache_clear()
    with pytest.raises(pytest.skip.Exception, match="no such file in the mirror directory"):
        helpers.fetch("fsim")
    helpers._fetch.cache_clear()  # later tests see the real environment again


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*mffw.*voc_seg_samples"):
        load_manifest("nope")
    with pytest.raises(ValueError, match="known datasets"):
        dataset_set_ids("nope")
    with pytest.raises(ValueError, match="known datasets"):
        download_dataset("nope", "/nonexistent")


GOOD = "a/b.png\t" + "0" * 64 + "\t10\thttps://example.org/b.png"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("dest\tsha\tbytes\turl\n" + GOOD, "header"),
        (HEADER, "no files"),
        (HEADER + "a/b.png\t" + "0" * 63 + "\t10\thttps://x/b", r":2: sha256"),
        (HEADER + "a/b.png\t" + "A" * 64 + "\t10\thttps://x/b", r":2: sha256"),
        (HEADER + "a/b.png\t" + "0" * 64 + "\t-1\thttps://x/b", r":2: bytes"),
        (HEADER + "../b.png\t" + "0" * 64 + "\t1\thttps://x/b", r":2: dest"),
        (HEADER + "/etc/b\t" + "0" * 64 + "\t1\thttps://x/b", r":2: dest"),
        (HEADER + "a/b.png\t" + "0" * 64 + "\t1\tftp://x/b", r":2: url"),
        (HEADER + "a/b.png\t" + "0" * 64 + "\t1", r":2: expected 4"),
        (HEADER + GOOD + "\n" + GOOD, r":3: dest .* twice"),
    ],
)
def test_bad_manifests_are_refused_naming_the_line(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_manifest(text, "m.tsv")


def test_source_of_mirror_forms(tmp_path):
    entry = parse_manifest(HEADER + "set a/source_1.png\t" + "0" * 64 + "\t1\thttps://example.org/x.png")[0]
    assert source_of(entry, "d", None) == "https://example.org/x.png"
    assert source_of(entry, "d", "http://127.0.0.1:9/m/") == "http://127.0.0.1:9/m/d/set%20a/source_1.png"
    assert source_of(entry, "d", tmp_path) == str(tmp_path / "d" / "set a" / "source_1.png")


# ----------------------------------------------------------------------------- downloads
def test_download_from_http_mirror_verifies_every_file(http_mirror, fetch_data, tmp_path):
    paths = download_dataset("grayscale", tmp_path / "grayscale", mirror=http_mirror, timeout=10, progress=True)
    assert len(paths) == 20 and all(p.is_file() for p in paths)
    assert verify_dataset("grayscale", tmp_path / "grayscale") == []
    for path in paths:
        relative = path.relative_to(tmp_path / "grayscale")
        assert path.read_bytes() == (fetch_data("grayscale") / relative).read_bytes()
    assert _no_part_files(tmp_path)
    assert (paths[0].stat().st_mode & 0o777) != 0o600  # a normal file, not mkstemp's private mode


def test_download_from_directory_mirror(fetch_data, tmp_path):
    cached = fetch_data("mffssim_examples").parent  # the cache's data folder is laid out like a mirror
    paths = download_dataset("mffssim_examples", tmp_path / "ex", mirror=cached)
    assert [p.name for p in paths] == ["source_1.tif", "source_2.tif", "source_3.tif"]
    assert verify_dataset("mffssim_examples", tmp_path / "ex") == []


def test_good_files_are_not_downloaded_again(http_mirror, dead_url, tmp_path):
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/"))
    target = tmp_path / "out"
    paths = download_dataset("grayscale", target, mirror=http_mirror, manifest_dir=manifests)
    stamps = [p.stat().st_mtime_ns for p in paths]
    # a dead mirror would fail any fetch: nothing is fetched, the files are untouched
    again = download_dataset("grayscale", target, mirror=dead_url, manifest_dir=manifests, retries=0)
    assert again == paths and [p.stat().st_mtime_ns for p in paths] == stamps


def test_wrong_existing_file_is_replaced(http_mirror, fetch_data, tmp_path):
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/"))
    target = tmp_path / "out" / "g_10" / "source_1.tif"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"half-written")
    download_dataset("grayscale", tmp_path / "out", mirror=http_mirror, manifest_dir=manifests)
    assert target.read_bytes() == (fetch_data("grayscale") / "g_10" / "source_1.tif").read_bytes()


def test_corrupted_file_fails_its_checksum_and_leaves_nothing(serve_directory, fetch_data, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(fetch_data("grayscale") / "g_10", mirror / "grayscale" / "g_10")
    bad = mirror / "grayscale" / "g_10" / "source_1.tif"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte flipped
    bad.write_bytes(bytes(data))
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/"))
    expected = load_manifest("grayscale", manifests)[0].sha256
    out = tmp_path / "out"
    good = out / "g_10" / "source_2.tif"  # a good file already there must survive
    good.parent.mkdir(parents=True)
    shutil.copyfile(fetch_data("grayscale") / "g_10" / "source_2.tif", good)

    url = serve_directory(mirror)
    with pytest.raises(DownloadError) as caught:
        download_dataset("grayscale", out, mirror=url, manifest_dir=manifests, retries=1, backoff=0.01)
    message = str(caught.value)
    assert "g_10/source_1.tif" in message and f"{url}/grayscale/g_10/source_1.tif" in message
    assert "checksum mismatch" in message and expected in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["source_2.tif"]
    assert verify_dataset("grayscale", out, manifest_dir=manifests) == [f"{out / 'g_10' / 'source_1.tif'}: missing"]


def test_truncated_file_fails_on_size(serve_directory, fetch_data, tmp_path):
    mirror = tmp_path / "mirror" / "grayscale" / "g_10"
    mirror.mkdir(parents=True)
    original = (fetch_data("grayscale") / "g_10" / "source_1.tif").read_bytes()
    (mirror / "source_1.tif").write_bytes(original[:1000])
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/source_1"))
    with pytest.raises(DownloadError, match=r"size mismatch: expected \d+ bytes, got 1000"):
        download_dataset("grayscale", tmp_path / "out", mirror=serve_directory(tmp_path / "mirror"),
                         manifest_dir=manifests, retries=0)
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_closed_port_fails_after_retries(dead_url, tmp_path):
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/source_1"))
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"g_10/source_1\.tif: download from http://127\.0\.0\.1:\d+/grayscale/"
                                            r"g_10/source_1\.tif failed after 3 attempt\(s\): URLError"):
        download_dataset("grayscale", tmp_path / "out", mirror=dead_url, manifest_dir=manifests,
                         retries=2, timeout=2, backoff=0.05)
    assert time.monotonic() - start >= 0.15  # it waited 0.05 + 0.1 s between the tries
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_http_404_is_reported_without_retrying(serve_directory, tmp_path):
    (tmp_path / "empty").mkdir()
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/source_1"))
    with pytest.raises(DownloadError, match=r"failed after 1 attempt\(s\): HTTP 404"):
        download_dataset("grayscale", tmp_path / "out", mirror=serve_directory(tmp_path / "empty"),
                         manifest_dir=manifests, retries=3, backoff=5.0)


def test_directory_mirror_missing_file(tmp_path):
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/source_1"))
    with pytest.raises(DownloadError, match="no such file in the mirror directory"):
        download_dataset("grayscale", tmp_path / "out", mirror=tmp_path / "nowhere", manifest_dir=manifests)


def test_leftover_part_files(http_mirror, tmp_path):
    manifests = _write_manifest(tmp_path / "m", "grayscale", _rows("grayscale", "g_10/source_1"))
    folder = tmp_path / "out" / "g_10"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".source_1.tif.old1.part", folder / ".source_1.tif.new1.part"
    stale.write_bytes(b"interrupted")
    fresh.write_bytes(b"maybe still running")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    download_dataset("grayscale", tmp_path / "out", mirror=http_mirror, manifest_dir=manifests)
    assert not stale.exists() and fresh.exists()  # stale leftovers removed, young ones left alone
    assert verify_dataset("grayscale", tmp_path / "out", manifest_dir=manifests) == []


def test_dest_with_spaces_is_quoted(serve_directory, tmp_path):
    payload = b"not really a png, only bytes"
    (tmp_path / "mirror" / "tiny" / "set a").mkdir(parents=True)
    (tmp_path / "mirror" / "tiny" / "set a" / "source_1.png").write_bytes(payload)
    row = f"set a/source_1.png\t{hashlib.sha256(payload).hexdigest()}\t{len(payload)}\thttps://example.org/x"
    manifests = _write_manifest(tmp_path / "m", "tiny", [row])
    for mirror, out in ((serve_directory(tmp_path / "mirror"), "http"), (tmp_path / "mirror", "dir")):
        [path] = download_dataset("tiny", tmp_path / out, mirror=mirror, manifest_dir=manifests)
        assert path == tmp_path / out / "set a" / "source_1.png" and path.read_bytes() == payload


def test_focus_stack_frames_are_linked_as_sources(tmp_path):
    """focus_stack_examples keeps the upstream names (pcb/pcb_001.jpg); its frames become source_k."""
    from mffssim.datasets.stacks import frame_files, link_frame_sources
    from mffssim.io import find_image_sets

    frames = frame_files("focus_stack_examples")
    assert list(frames) == ["depthmap", "pcb"]
    assert len(frames["pcb"]) == 7 and frames["pcb"][0] == "pcb/pcb_001.jpg"
    assert len(frames["depthmap"]) == 10 and frames["depthmap"][0] == "depthmap/pcb_000.JPG"
    assert frame_files("lytro") == {}
    for dests in frames.values():
        for dest in dests:
            (tmp_path / dest).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / dest).write_bytes(dest.encode())
    made = link_frame_sources("focus_stack_examples", tmp_path)
    assert len(made) == 17
    sets = find_image_sets(tmp_path)
    assert [p.name for p in sets["depthmap"].sources][:2] == ["source_1.jpg", "source_2.jpg"]
    assert (tmp_path / "pcb" / "source_7.jpg").read_bytes() == b"pcb/pcb_007.jpg"
    assert link_frame_sources("focus_stack_examples", tmp_path) == []  # again: nothing to do
