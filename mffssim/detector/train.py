"""Training loop for FocusNet: BCE, Adam, per-epoch resumable checkpoints, seeded, loss curve.

``train_detector`` is the whole API a workflow script needs: give it a dataset of ``(x1, x2, target)``
triples and where to put the weights; it checkpoints model, optimiser, epoch and RNG states after every
epoch into ``checkpoint_dir/last.pt`` and, run again with the same directory, continues from there. The
weights file holds the architecture (width, blocks) so ``load_model`` can rebuild the network.
"""
from __future__ import annotations

import csv
import os
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from mffssim.detector.authors import authors_network, is_authors_state_dict
from mffssim.detector.network import FocusNet
from mffssim.io import atomic_write, save_figure

HISTORY_FIELDS = ("epoch", "train_loss", "heldout_loss", "seconds", "cpu_seconds")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> cuda when available, else cpu; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def save_weights(model: FocusNet, path: str | os.PathLike, *, half: bool = False, **metadata: Any) -> None:
    """Write the weights with the architecture hyper-parameters (and any metadata), atomically; ``half``
    stores the floating-point tensors as float16 (half the size; :func:`load_model` widens them again)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    payload = {"hyperparameters": model.hyperparameters(), "state_dict": state, "metadata": metadata}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_model(weights: str | os.PathLike | FocusNet, device: str | torch.device = "auto") -> FocusNet:
    """A FocusNet in eval mode on ``device``, from a weights file (or a model).

    The file is either one written by ``save_weights`` or the authors' published ``block8_feat128.pth``
    (a bare state dict under their parameter names, :mod:`mffssim.detector.authors`; the network then
    takes their gray conversion). Anything else raises one ``ValueError`` naming the file and the problem.
    """
    device = resolve_device(device)
    if isinstance(weights, FocusNet):
        return weights.to(device).eval()
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{path}: not a weights file torch can load safely ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''})") from None
    if is_authors_state_dict(payload):
        return authors_network(payload, str(path)).to(device).eval()
    if not isinstance(payload, dict) or not {"hyperparameters", "state_dict"} <= set(payload):
        raise ValueError(f"{path}: neither a FocusNet weights file (hyperparameters + state_dict) nor the "
                         f"authors' block8_feat128.pth state dict")
    try:
        model = FocusNet(**payload["hyperparameters"])
        model.load_state_dict(payload["state_dict"])
    except Exception as error:
        raise ValueError(f"{path}: not a FocusNet weights file ({type(error).__name__}: {error})") from None
    return model.to(device).eval()


def _mean_loss(model: FocusNet, loader: DataLoader, device: torch.device) -> float:
    """Mean BCE over a dataset, network in eval mode."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x1, x2, target in loader:
            x1, x2, target = x1.to(device), x2.to(device), target.to(device)
            total += functional.binary_cross_entropy(model(x1, x2), target, reduction="sum").item()
            count += target.numel()
    return total / count


def write_history(history: list[dict], path: str | os.PathLike, *, plot: bool = True) -> None:
    """Write the loss curve as CSV (one row per epoch) and, if ``plot``, a PNG beside it (skipped with a
    warning where matplotlib, a dependency of the ``workflow`` extra, is not installed)."""
    path = Path(path)

    def write_csv(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=HISTORY_FIELDS)
            writer.writeheader()
            writer.writerows({k: row.get(k, "") for k in HISTORY_FIELDS} for row in history)

    atomic_write(path, write_csv)
    if plot and history:
        try:
            import matplotlib
        except ImportError:
            warnings.warn(f"{path.with_suffix('.png')}: not written, matplotlib is not installed "
                          "(pip install 'mffssim[workflow]')", stacklevel=2)
            return

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        figure, axes = plt.subplots(figsize=(5, 3.2))
        epochs = [row["epoch"] for row in history]
        axes.plot(epochs, [row["train_loss"] for row in history], "o-", label="train")
        if any(row.get("heldout_loss") not in (None, "") for row in history):
            axes.plot(epochs, [row["heldout_loss"] for row in history], "s--", label="held-out")
        axes.set(xlabel="epoch", ylabel="BCE loss", title="FocusNet training")
        axes.legend()
        figure.tight_layout()
        save_figure(figure, path.with_suffix(".png"), dpi=100)


def train_detector(
    dataset: Dataset, out_weights: str | os.PathLike, *, width: int = 16, blocks: int = 4, epochs: int = 10,
    batch_size: int = 16, lr: float = 1e-4, seed: int = 0, device: str | torch.device = "auto",
    checkpoint_dir: str | os.PathLike | None = None, log: str | os.PathLike | None = None,
    heldout: Dataset | None = None, threads: int | None = None, progress: bool = True,
) -> list[dict]:
    """Train a ``FocusNet(width, blocks)`` on ``dataset`` with BCE and Adam; return the per-epoch history.

    ``dataset`` yields ``(x1, x2, target)`` tensors of shape ``(1, h, w)``; if it has ``set_epoch`` (as
    :class:`~mffssim.detector.data.SyntheticPairs`) it is called so every epoch sees fresh pairs.
    ``checkpoint_dir`` (optional) gets ``last.pt`` after every epoch, and training resumes from it.
    ``log`` (optional) gets the loss curve CSV (and a PNG). ``heldout`` adds a held-out loss per epoch.
    """
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need epochs >= 1, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}")
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device)
    torch.manual_seed(seed)
    model = FocusNet(width, blocks).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[dict] = []
    start = 1
    checkpoint = Path(checkpoint_dir) / "last.pt" if checkpoint_dir is not None else None
    if checkpoint is not None and checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if state["hyperparameters"] != model.hyperparameters() or state["seed"] != seed:
            raise ValueError(f"{checkpoint}: checkpoint is for {state['hyperparameters']}, seed {state['seed']};"
                             f" this run is {model.hyperparameters()}, seed {seed} (use another checkpoint_dir)")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        history, start = state["history"], state["epoch"] + 1

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)  # samples are already random
    heldout_loader = None if heldout is None else DataLoader(heldout, batch_size=batch_size)
    for epoch in range(start, epochs + 1):
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        model.train()
        began, cpu_began, total, count = time.perf_counter(), time.process_time(), 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", disable=not progress, leave=False)
        for x1, x2, target in bar:
            x1, x2, target = x1.to(device), x2.to(device), target.to(device)
            loss = functional.binary_cross_entropy(model(x1, x2), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, count = total + loss.item() * len(x1), count + len(x1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        row = {"epoch": epoch, "train_loss": total / count,
               "heldout_loss": None if heldout_loader is None else _mean_loss(model, heldout_loader, device),
               "seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - cpu_began}
        history.append(row)
        if progress:
            tqdm.write(f"epoch {epoch}/{epochs}: train {row['train_loss']:.4f}"
                       + ("" if row["heldout_loss"] is None else f", held-out {row['heldout_loss']:.4f}")
                       + f" ({row['seconds']:.1f} s)")
        if checkpoint is not None:
            state = {"hyperparameters": model.hyperparameters(), "seed": seed, "epoch": epoch,
                     "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "torch_rng": torch.get_rng_state(),
                     "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                     "history": history}
            atomic_write(checkpoint, lambda tmp, state=state: torch.save(state, tmp))  # called here, at once
        if log is not None:
            write_history(history, log)
    if log is not None and start > epochs:
        # resumed from a checkpoint of the last epoch (a job killed after training, its outputs since
        # removed): no epoch ran, but the loss curve is still an output
        write_history(history, log)
    save_weights(model, out_weights, epochs=epochs, seed=seed, history=history)
    return history
