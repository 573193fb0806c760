"""The same-scene check (mffssim.scene) and the commands that run it: ``mffssim fuse`` and ``mffssim align``
warn, naming the frame and its score, when a frame does not look like the others; ``--strict`` stops with
one line naming it and writes nothing."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import fetch

from mffssim.cli import main
from mffssim.datasets import make_embedded_set
from mffssim.io import read_image_set, write_image
from mffssim.scene import THRESHOLD, SceneError, check_scene, scene_scores
from mffssim.stack import read_coded_stack

pytestmark = pytest.mark.usefixtures("one_torch_thread")
FAST = ["--iterations", "2", "--window", "5", "-q"]


@pytest.fixture(scope="module")
def embedded():
    """Embedded sets at 96 px (colour: astronaut 96x96, coffee 96x144, chelsea_k3 three sources)."""
    return {name: make_embedded_set(name, size=96) for name in ("astronaut", "coffee", "chelsea_k3", "camera")}


def _write(folder, frames):
    paths = [folder / f"source_{k + 1}.png" for k in range(len(frames))]
    for path, frame in zip(paths, frames):
        write_image(path, frame)
    return [str(p) for p in paths]


# --------------------------------------------------------------------------------------------- the measure
def test_real_sets_pass_and_a_swapped_pair_is_named(embedded):
    for data in embedded.values():
        check = check_scene(data.sources)
        assert check.ok and check.message == "" and np.all(check.scores > THRESHOLD), (data.set_id, check.scores)
    swapped = check_scene([embedded["astronaut"].sources[0], embedded["coffee"].sources[1]], names=["a.png", "b.png"])
    assert not swapped.ok and swapped.outliers == [1]
    assert swapped.message.startswith("b.png: does not look like the same scene as a.png (scene score ")
    assert f"{swapped.scores[1]:.2f}" in swapped.message and np.all(swapped.scores < THRESHOLD)


def test_a_stray_frame_of_a_stack_is_the_one_named(embedded):
    frames = list(embedded["chelsea_k3"].sources)
    frames[1] = embedded["coffee"].sources[0]  # same size (96x144), another scene
    check = check_scene(frames, names=["n.png", "stray.png", "f.png"])
    assert check.outliers == [1], check.scores
    assert check.message.startswith(f"stray.png ({check.scores[1]:.2f}): does not look like any other frame")
    assert "n.png" not in check.message and "f.png" not in check.message


def test_frames_of_other_sizes_and_gray_frames_are_scored(embedded):
    """Every frame is reduced to the same grid: sizes and channel counts need not agree."""
    coffee = embedded["coffee"].sources[0]
    assert check_scene([coffee, coffee[::2, ::2].mean(axis=2, keepdims=True)]).ok  # half size, gray
    assert not check_scene([coffee, embedded["camera"].sources[1]]).ok  # 96x144 colour against 96x96 gray


def test_flat_and_tiny_frames_are_not_scored():
    rng = np.random.default_rng(0)
    textured = rng.random((40, 40, 1)).astype(np.float32)
    assert np.isnan(scene_scores([textured, np.full((40, 40, 1), 0.5, np.float32)])).all()
    assert np.isnan(scene_scores([textured[:4, :6], textured[:4, :6]])).all()
    assert check_scene([textured, np.zeros_like(textured)]).ok  # cannot tell: no warning


def test_a_coded_stack_scores_as_its_float_frames(tmp_path, embedded):
    paths = _write(tmp_path, embedded["chelsea_k3"].sources)
    coded, _ = read_coded_stack(paths)
    floats, _ = read_image_set(paths)
    np.testing.assert_array_equal(scene_scores(coded), scene_scores(floats))


def test_scene_error_is_a_bad_input_error():
    from mffssim.io import ImageError

    assert issubclass(SceneError, ImageError) and issubclass(SceneError, ValueError)


def test_real_pair_passes_and_a_pair_swapped_between_lytro_sets_warns():
    root = fetch("lytro")
    pair = [root / "lytro_01" / "source_1.jpg", root / "lytro_01" / "source_2.jpg"]
    assert check_scene(read_image_set(pair)[0]).ok
    swapped = [root / "lytro_01" / "source_1.jpg", root / "lytro_05" / "source_2.jpg"]
    check = check_scene(read_image_set(swapped)[0], names=swapped)
    assert check.outliers == [1] and str(swapped[1]) in check.message


# ------------------------------------------------------------------------------------------- the commands
def test_fuse_of_one_scene_says_nothing(tmp_path, embedded, capsys):
    sources = _write(tmp_path, embedded["astronaut"].sources)
    out = tmp_path / "fused.png"
    assert main(["fuse", *sources, "-o", str(out), "--strict", *FAST]) == 0
    assert out.is_file() and capsys.readouterr().err == ""


def test_fuse_of_two_scenes_warns_naming_the_frame_and_its_score(tmp_path, embedded, capsys):
    stray = embedded["coffee"].sources[1][:, :96]
    sources = _write(tmp_path, [embedded["astronaut"].sources[0], stray])
    out = tmp_path / "fused.png"
    assert main(["fuse", *sources, "-o", str(out), *FAST]) == 0
    assert out.is_file()  # a warning: the fusion goes on
    lines = capsys.readouterr().err.strip().splitlines()
    score = check_scene([embedded["astronaut"].sources[0], stray]).scores[1]
    assert len(lines) == 1 and lines[0].startswith(f"mffssim fuse: warning: {sources[1]}: does not look like"), lines
    assert f"scene score {score:.2f}" in lines[0] and "--strict" in lines[0]


def test_strict_fuse_stops_with_one_line_and_writes_nothing(tmp_path, embedded, capsys):
    sources = _write(tmp_path, [embedded["astronaut"].sources[0], embedded["coffee"].sources[1][:, :96]])
    out, saved = tmp_path / "out" / "fused.png", tmp_path / "out" / "map.png"
    code = main(["fuse", *sources, "-o", str(out), "--save-map", str(saved), "--strict", *FAST])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"mffssim fuse: error: {sources[1]}: does not look like"), lines
    assert not (tmp_path / "out").exists()


def _registrable_other_scenes():
    """Two frames with the same fine texture (what the registration matches: it succeeds, correlation 0.99)
    over different coarse pictures (what the scene check compares)."""
    from scipy import ndimage

    rng = np.random.default_rng(0)

    def field(sigma):
        values = ndimage.gaussian_filter(rng.random((256, 256)), sigma)
        return (values - values.mean()) / values.std()

    fine = field(2.0)
    return [np.clip(0.5 + 0.1 * fine + 0.1 * field(20.0), 0, 1)[..., None].astype(np.float32) for _ in range(2)]


@pytest.mark.parametrize("command", [["align"], ["fuse", "--align", *FAST[:4]]])
def test_strict_after_registration_stops_with_one_line_and_writes_nothing(tmp_path, command, capsys):
    """With alignment the check scores the registered frames; --strict stops before anything is written."""
    sources = _write(tmp_path, _registrable_other_scenes())
    out = tmp_path / "out" / ("fused.png" if command[0] == "fuse" else "aligned")
    code = main([command[0], *sources, "-o", str(out), *command[1:], "--align-model" if command[0] == "fuse"
                 else "--model", "translation", "--strict", "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"mffssim {command[0]}: error: {sources[1]}: does not look"), lines
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ the workflow's glue and runs
def _photo_folder(root, embedded):
    """A folder data set: ``garden`` (one scene, two focus settings), ``stray`` (its second source from another
    scene)."""
    real = embedded["astronaut"].sources
    for name, frames in (("garden", real), ("stray", [real[0], embedded["coffee"].sources[1][:, :96]])):
        (root / name).mkdir(parents=True)
        _write(root / name, frames)
    return root


@pytest.mark.parametrize("mode", ["warn", "strict", "skip"])
def test_the_glue_warns_stops_or_skips_as_the_param_says(tmp_path, embedded, mode, caplog):
    import sys
    from types import SimpleNamespace

    from helpers import REPO

    sys.path.insert(0, str(REPO / "scripts"))
    from _wf import check_scene as glue
    from _wf import load_image_set

    root = _photo_folder(tmp_path / "photos", embedded)
    job = SimpleNamespace(rule="fuse_pixelwise", params=SimpleNamespace(scene_check=mode))
    assert glue(job, load_image_set(str(root / "garden"))) is None
    stray = load_image_set(str(root / "stray"))
    named = str(stray.files.sources[1])
    if mode == "strict":
        with pytest.raises(SceneError, match="does not look like the same scene") as error:
            glue(job, stray)
        assert str(error.value).startswith(f"{named}: ")
        return
    warning = glue(job, stray)
    if mode == "skip":
        assert warning is None and not [r for r in caplog.records if r.levelname == "WARNING"]
        return
    assert warning.startswith(f"{named}: does not look like the same scene")
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(logged) == 1 and logged[0].startswith(warning)


@pytest.mark.slow
def test_the_workflow_warns_in_the_log_and_under_the_table_and_strict_fails_the_job(tmp_path, embedded):
    """fusion.scene_check reaches the fusion and metrics jobs: `warn` fuses both sets, logs the warning in the
    stray set's fusion logs only and lists that set under the table; `strict` fails its fusions with one line
    naming the frame and leaves no fused image, while the other set is fused."""
    from helpers import failure_text, snakemake, write_config

    photos = _photo_folder(tmp_path / "photos", embedded)
    named = f"{photos}/stray/source_2.png: does not look like the same scene as {photos}/stray/source_1.png"
    values = {"datasets": ["folder"], "folder": {"path": str(photos)}, "fusion": {"methods": ["mffssim_paper", "pixelwise"]},
              "metrics": {"names": ["qg"]}}
    warn = tmp_path / "warn"
    proc = snakemake(warn, "results/tables/folder.md", configs=(write_config(tmp_path / "warn.yaml", values),))
    assert proc.returncode == 0, failure_text(proc)
    for method in ("mffssim_paper-lap", "pixelwise-lap"):
        assert named in (warn / f"logs/fusion/folder/stray/{method}.log").read_text()
        assert "does not look like" not in (warn / f"logs/fusion/folder/garden/{method}.log").read_text()
    table = (warn / "results/tables/folder.md").read_text()
    assert f"- `stray`: {named}" in table and "`garden`" not in table
    assert "scene" not in (warn / "results/folder/garden/metrics.json").read_text()

    strict = tmp_path / "strict"
    values["fusion"]["scene_check"] = "strict"
    proc = snakemake(strict, "results/tables/folder.md", "--keep-going", configs=(write_config(tmp_path / "strict.yaml", values),))
    assert proc.returncode != 0
    for method in ("mffssim_paper-lap", "pixelwise-lap"):
        log = (strict / f"logs/fusion/folder/stray/{method}.log").read_text().strip().splitlines()
        rule = "fuse_mffssim" if method.startswith("mffssim") else "fuse_pixelwise"
        assert log[-1].startswith(f"{rule}: error: {named}"), log
        assert not (strict / f"results/folder/stray/{method}/fused.png").exists()
        assert (strict / f"results/folder/garden/{method}/fused.png").is_file()
