"""The authors' published weights: their parameter names map onto FocusNet, shapes are checked, their gray
conversion is used, and any other file gets one clear error naming it."""
import numpy as np
import pytest
import torch
from torch.nn import functional

from mffssim.detector.data import to_gray
from mffssim.detector.inference import detect_focus_map, focus_probability
from mffssim.detector.network import FocusNet, count_parameters
from mffssim.detector.train import load_model, save_weights


def _bn(state, prefix, width, generator):
    state[f"{prefix}.weight"] = 1 + 0.1 * torch.randn(width, generator=generator)
    state[f"{prefix}.bias"] = 0.1 * torch.randn(width, generator=generator)
    state[f"{prefix}.running_mean"] = 0.1 * torch.randn(width, generator=generator)
    state[f"{prefix}.running_var"] = 1 + torch.rand(width, generator=generator)
    state[f"{prefix}.num_batches_tracked"] = torch.tensor(7)


def their_state_dict(width, blocks, seed=0):
    """A state dict under the names of the authors' network (conv0 / main.<i> / conv1), random values."""
    generator = torch.Generator().manual_seed(seed)

    def conv(cin, cout):
        return 0.2 * torch.randn(cout, cin, 3, 3, generator=generator)

    state = {"conv0.conv.conv2d.weight": conv(1, width)}
    _bn(state, "conv0.norm", width, generator)
    for i in range(blocks):
        state[f"main.{i}.conv1.conv2d.weight"] = conv(width, width)
        _bn(state, f"main.{i}.norm1", width, generator)
        state[f"main.{i}.conv2.conv2d.weight"] = conv(width, width)
        _bn(state, f"main.{i}.norm2", width, generator)
    state["conv1.conv.conv2d.weight"] = conv(2 * width, 1)
    return state


def their_forward(state, blocks, a, b):
    """The authors' network written out from the state dict alone: conv (reflection pad 1, no bias), BN in
    eval mode, ReLU; residual blocks; concatenation, last conv, sigmoid."""
    def conv(x, name):
        return functional.conv2d(functional.pad(x, (1, 1, 1, 1), mode="reflect"), state[name])

    def bn(x, prefix):
        return functional.batch_norm(x, state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"],
                                     state[f"{prefix}.weight"], state[f"{prefix}.bias"], training=False)

    def trunk(x):
        x = torch.relu(bn(conv(x, "conv0.conv.conv2d.weight"), "conv0.norm"))
        for i in range(blocks):
            y = torch.relu(bn(conv(x, f"main.{i}.conv1.conv2d.weight"), f"main.{i}.norm1"))
            x = torch.relu(x + bn(conv(y, f"main.{i}.conv2.conv2d.weight"), f"main.{i}.norm2"))
        return x

    return torch.sigmoid(conv(torch.cat([trunk(a), trunk(b)], dim=1), "conv1.conv.conv2d.weight"))


def test_their_state_dict_loads_and_computes_their_network(tmp_path):
    state = their_state_dict(6, 3)
    path = tmp_path / "block8_feat128.pth"
    torch.save(state, path)
    model = load_model(path, "cpu")
    assert (model.width, model.blocks, model.gray) == (6, 3, "bt601")
    generator = torch.Generator().manual_seed(1)
    a, b = torch.rand(1, 1, 19, 23, generator=generator), torch.rand(1, 1, 19, 23, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(model(a, b), their_forward(state, 3, a, b), rtol=1e-5, atol=1e-6)


def test_paper_size_state_dict_maps_every_parameter(tmp_path):
    state = their_state_dict(128, 8)
    path = tmp_path / "w.pth"
    torch.save(state, path)
    model = load_model(path, "cpu")
    assert count_parameters(model) == 2_367_104
    assert sum(v.numel() for k, v in state.items() if "running" not in k and "num_batches" not in k) == 2_367_104


def test_their_weights_take_their_gray_conversion(tmp_path):
    torch.save(their_state_dict(4, 1, seed=2), tmp_path / "w.pth")
    rng = np.random.default_rng(0)
    pair = rng.random((2, 20, 24, 3)).astype(np.float32)
    gray = pair @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    np.testing.assert_allclose(to_gray(pair[0], "bt601"), gray[0], rtol=1e-6)
    assert not np.allclose(to_gray(pair[0]), gray[0], atol=1e-3)  # ours (ITU-R 709) differs
    model = load_model(tmp_path / "w.pth", "cpu")
    expected = focus_probability(gray[0], gray[1], model, device="cpu") > 0.5
    np.testing.assert_array_equal(detect_focus_map(pair, tmp_path / "w.pth", device="cpu")[0], expected)


def test_our_weights_keep_our_gray(tmp_path):
    save_weights(FocusNet(4, 1), tmp_path / "ours.pt")
    assert load_model(tmp_path / "ours.pt", "cpu").gray == "bt709"


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update({"main.1.conv1.conv2d.weight": torch.zeros(5, 5, 3, 3)}), "main.1.conv1.conv2d.weight has shape"),
    (lambda s: s.pop("main.0.norm2.running_var"), "missing parameters.*main.0.norm2.running_var"),
    (lambda s: s.update({"main.0.extra.weight": torch.zeros(1)}), "unexpected parameters.*main.0.extra.weight"),
    (lambda s: s.update({"conv1.conv.conv2d.weight": torch.zeros(1, 7, 3, 3)}), "conv1.conv.conv2d.weight has shape"),
])
def test_a_wrong_state_dict_is_named(tmp_path, change, message):
    state = their_state_dict(4, 2)
    change(state)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=f"bad.pth: .*{message}"):
        load_model(path, "cpu")


@pytest.mark.parametrize("payload", [b"not a torch file", {"a": torch.zeros(2)}, [torch.zeros(1)]])
def test_any_other_file_gets_one_clear_error(tmp_path, payload):
    path = tmp_path / "other.pth"
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        torch.save(payload, path)
    with pytest.raises(ValueError, match="other.pth: (neither a FocusNet weights file|not a weights file)"):
        load_model(path, "cpu")


def test_cli_fuses_with_their_weights_and_names_a_bad_file(tmp_path, capsys):
    from mffssim.cli import main
    from mffssim.io import read_focus_map, write_image

    rng = np.random.default_rng(3)
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    scene = rng.random((16, 18, 3))
    for path in paths:  # two noisy shots of one scene (the same-scene check stays quiet)
        write_image(path, np.clip(scene + rng.normal(0, 0.02, scene.shape), 0, 1), 8)
    torch.save(their_state_dict(4, 1), tmp_path / "block8_feat128.pth")
    argv = ["fuse", *map(str, paths), "--detector", "resnet", "--iterations", "2", "--window", "5", "-q"]
    assert main(argv + ["--weights", str(tmp_path / "block8_feat128.pth"), "-o", str(tmp_path / "f.png"),
                        "--save-map", str(tmp_path / "m.png")]) == 0
    assert read_focus_map(tmp_path / "m.png", 2).shape == (2, 16, 18)
    (tmp_path / "notes.pth").write_text("hello")
    assert main(argv + ["--weights", str(tmp_path / "notes.pth"), "-o", str(tmp_path / "g.png")]) != 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "notes.pth" in lines[0] and not (tmp_path / "g.png").exists()
