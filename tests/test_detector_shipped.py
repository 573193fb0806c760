"""The weights shipped with the package: export (float16 + record), the shipped file itself, the CLI default,
and a short training run of the config that reproduces them (config/detector.yaml)."""
import hashlib
import json

import numpy as np
import pytest
import torch

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
                         data_roots={"folder": str(data)}, figures={"accuracy": "0.9"})
    payload = torch.load(out, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float16 for k, v in payload["state_dict"].items() if "num_batches" not in k)
    record = json.loads((tmp_path / "ship" / "focusnet.json").read_text())
    assert record["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert record["data_sha256"] == {"folder": folder_sha256(data)}
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
