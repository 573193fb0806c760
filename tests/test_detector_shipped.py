"""The weights shipped with the package: export (weights + record; float16 on request), the shipped file itself, the CLI default,
and a short training run of the config that reproduces them (config/detector.yaml)."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mffssim.detector.inference import focus_probability
from mffssim.detector.network import FocusNet
from mffssim.detector.shipped import export_shipped, folder_sha256
from mffssim.detector.train import load_model, save_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_export_writes_float16_weights_and_their_record(tmp_path):
    torch.manual_seed(0)
    model = FocusNet(8, 2)
    save_weights(model, tmp_path / "weights.pt")
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "a" / "image.png").write_bytes(b"123")
    out = export_shipped(tmp_path / "weights.pt", tmp_path / "ship", config={"width": 8, "blocks": 2},
                         data_roots={"folder": str(data)}, figures={"accuracy": "0.9"}, half=True)
    payload = torch.load(out, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float16 for k, v in payload["state_dict"].items() if "num_batches" not in k)
    record = json.loads((tmp_path / "ship" / "focusnet.json").read_text())
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["data_sha256"]["folder"] == folder_sha256(data) and "embedded" in record["data_sha256"]
    assert record["training_config"] == {"width": 8, "blocks": 2} and record["network"] == {"width": 8, "blocks": 2}
    assert record["figures"] == {"accuracy": "0.9"} and record["code_version"]["mffssim"]
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 40, 40), dtype=np.float32)
    full = focus_probability(a, b, load_model(tmp_path / "weights.pt", "cpu"), device="cpu")
    half = focus_probability(a, b, load_model(out, "cpu"), device="cpu")
    np.testing.assert_allclose(half, full, atol=5e-3)


def test_folder_sha256_follows_names_and_contents(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.png").write_bytes(b"1")
    first = folder_sha256(tmp_path)
    (tmp_path / "x" / "a.png").write_bytes(b"2")
    second = folder_sha256(tmp_path)
    (tmp_path / "x" / "a.png").rename(tmp_path / "x" / "b.png")
    assert len({first, second, folder_sha256(tmp_path)}) == 3


REPO = Path(__file__).resolve().parent.parent
WORKFLOW_ONLY = ("weights", "threads", "device", "tile", "voc2012_root", "folder_root")


def _shipped_config() -> dict:
    block = yaml.safe_load((REPO / "config" / "detector.yaml").read_text())["detector"]
    return {k: v for k, v in block.items() if k not in WORKFLOW_ONLY}


def test_the_shipped_config_trains_a_short_run(tmp_path, fetch_data):
    from mffssim.detector.config import DetectorConfig
    from mffssim.detector.run import train_and_evaluate

    settings = _shipped_config()
    sources = [settings["source"]] if isinstance(settings["source"], str) else settings["source"]
    roots = {s: str(fetch_data(s)) for s in sources if s != "embedded"}
    short = DetectorConfig.from_mapping(settings | {
        "root": roots or None, "epochs": 1, "samples_per_epoch": 4, "crop": 24, "heldout_samples": 2,
        "heldout_crop": 32})
    row = train_and_evaluate(short, tmp_path / "run", device="cpu", threads=1, progress=False)
    assert 0.0 <= row["accuracy"] <= 1.0
    out = export_shipped(tmp_path / "run" / "weights.pt", tmp_path / "ship", config=settings, data_roots=roots)
    record = json.loads((tmp_path / "ship" / "focusnet.json").read_text())
    assert record["training_config"] == json.loads(json.dumps(settings)) and out.is_file()


def test_the_shipped_weights_load_and_record_their_making():
    from mffssim.detector.config import DetectorConfig
    from mffssim.detector.shipped import shipped_weights

    path = shipped_weights()
    assert path.stat().st_size <= 10 * 2**20
    payload = torch.load(path, map_location="cpu", weights_only=True)  # loads without pickled code
    assert set(payload) == {"hyperparameters", "state_dict", "metadata"}
    model = load_model(path, "cpu")
    record = json.loads((path.parent / "focusnet.json").read_text())
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["network"] == model.hyperparameters() and record["code_version"]["commit"]
    # config/detector.yaml is the config that made them (the record also lists the settings it leaves at default)
    wanted = json.loads(json.dumps(_shipped_config(), default=list))
    assert {k: record["training_config"][k] for k in wanted} == wanted
    DetectorConfig.from_mapping(record["training_config"])  # every key a setting


def test_cli_resnet_without_weights_uses_the_shipped_ones(tmp_path):
    from mffssim.cli import main
    from mffssim.detector.inference import detect_focus_map
    from mffssim.detector.shipped import shipped_weights
    from mffssim.io import read_focus_map, read_image, write_image

    rng = np.random.default_rng(1)
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for path in paths:
        write_image(path, rng.random((20, 22, 3)), 8)
    assert main(["fuse", *map(str, paths), "--detector", "resnet", "-o", str(tmp_path / "f.png"), "--iterations",
                 "2", "--window", "5", "-q", "--save-map", str(tmp_path / "m.png")]) == 0
    sources = np.stack([read_image(p) for p in paths])
    np.testing.assert_array_equal(read_focus_map(tmp_path / "m.png", 2),
                                  detect_focus_map(sources, shipped_weights(), device="cpu"))
