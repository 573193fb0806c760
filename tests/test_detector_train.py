"""Training: loss goes down, checkpoints resume identically, weights round-trip, config glue."""
import csv

import pytest
import torch
from torch.nn import functional
from torch.utils.data import TensorDataset

from mffssim.detector.config import DetectorConfig, paper_config, train_from_config
from mffssim.detector.network import FocusNet, count_parameters
from mffssim.detector.train import load_model, save_weights, train_detector


def _toy_pairs(n=8, size=16, seed=0):
    """Left half sharp noise in source 1, right half in source 2; the other half flat."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(n, 1, size, size, generator=g)
    target = torch.zeros(n, 1, size, size)
    target[..., : size // 2] = 1
    x1 = target * noise + (1 - target) * 0.5
    x2 = (1 - target) * noise + target * 0.5
    return TensorDataset(x1, x2, target)


def test_a_few_steps_reduce_the_loss_on_a_toy_batch():
    torch.manual_seed(0)
    model = FocusNet(width=4, blocks=1)
    x1, x2, target = _toy_pairs().tensors
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        loss = functional.binary_cross_entropy(model(x1, x2), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_resume_from_checkpoint_continues_identically(tmp_path):
    data = _toy_pairs(n=6)
    options = dict(width=4, blocks=1, batch_size=4, lr=1e-3, seed=7, device="cpu", progress=False)
    full = train_detector(data, tmp_path / "full.pt", epochs=3, checkpoint_dir=tmp_path / "a", **options)
    train_detector(data, tmp_path / "half.pt", epochs=2, checkpoint_dir=tmp_path / "b", **options)
    resumed = train_detector(data, tmp_path / "resumed.pt", epochs=3, checkpoint_dir=tmp_path / "b",
                             log=tmp_path / "loss.csv", **options)
    a = torch.load(tmp_path / "full.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "resumed.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [r["train_loss"] for r in full] == [r["train_loss"] for r in resumed]
    with open(tmp_path / "loss.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert (tmp_path / "loss.png").stat().st_size > 0
    with pytest.raises(ValueError, match="checkpoint is for"):
        train_detector(data, tmp_path / "x.pt", epochs=4, checkpoint_dir=tmp_path / "b",
                       **{**options, "width": 5})


def test_resuming_a_finished_checkpoint_still_writes_the_loss_curve(tmp_path):
    """A job killed after its last epoch's checkpoint: Snakemake removes its outputs, the rerun trains no
    epoch, yet must write loss.csv and loss.png again."""
    data = _toy_pairs(n=4)
    options = dict(width=4, blocks=1, batch_size=4, lr=1e-3, seed=7, device="cpu", progress=False, epochs=1,
                   checkpoint_dir=tmp_path / "c", log=tmp_path / "loss.csv")
    first = train_detector(data, tmp_path / "w.pt", **options)
    for name in ("loss.csv", "loss.png", "w.pt"):
        (tmp_path / name).unlink()
    again = train_detector(data, tmp_path / "w.pt", **options)
    assert again == first
    assert (tmp_path / "loss.csv").stat().st_size > 0 and (tmp_path / "loss.png").stat().st_size > 0


def test_weights_round_trip_with_their_architecture(tmp_path):
    torch.manual_seed(0)
    model = FocusNet(width=3, blocks=2)
    save_weights(model, tmp_path / "w.pt", note="test")
    loaded = load_model(tmp_path / "w.pt", device="cpu")
    assert loaded.hyperparameters() == {"width": 3, "blocks": 2} and not loaded.training
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), loaded.state_dict().values()))
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_model(tmp_path / "missing.pt")


def test_config_presets_and_glue(tmp_path):
    paper = paper_config()
    assert (paper.width, paper.blocks, paper.epochs, paper.batch_size, paper.lr) == (128, 8, 50, 6, 1e-4)
    assert count_parameters(FocusNet(paper.width, paper.blocks)) == 2_367_104
    with pytest.raises(ValueError, match="unknown detector settings"):
        DetectorConfig.from_mapping({"widht": 3})
    history = train_from_config(
        {"images": ["camera"], "heldout_images": ["coins"], "crop": 16, "samples_per_epoch": 4, "width": 3,
         "blocks": 1, "epochs": 1, "batch_size": 2, "heldout_samples": 2, "heldout_crop": 24},
        tmp_path / "w.pt", device="cpu", progress=False)
    assert len(history) == 1 and history[0]["heldout_loss"] > 0
    assert load_model(tmp_path / "w.pt").hyperparameters() == {"width": 3, "blocks": 1}


def test_command_line_trains_evaluates_and_writes_the_table(tmp_path, capsys):
    from mffssim.detector.run import main

    main([str(tmp_path), "--device", "cpu", "--set", 'images=["coins"]', "--set", 'heldout_images=["camera"]',
          "--set", "crop=16", "--set", "samples_per_epoch=4", "--set", "width=3", "--set", "blocks=1",
          "--set", "epochs=2", "--set", "batch_size=2", "--set", "heldout_samples=2", "--set", "heldout_crop=20"])
    for name in ("weights.pt", "loss.csv", "loss.png", "checkpoints/last.pt", "evaluation.csv", "evaluation.md"):
        assert (tmp_path / name).is_file(), name
    assert '"accuracy"' in capsys.readouterr().out
    with open(tmp_path / "evaluation.csv") as handle:
        row = next(csv.DictReader(handle))
    assert row["epochs"] == "2" and 0 <= float(row["accuracy"]) <= 1 and int(row["pixels"]) == 2 * 20 * 20
