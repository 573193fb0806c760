"""Resolve the ``device="auto"|"cpu"|"cuda"`` argument shared by the engine's entry points."""
from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when one is available, else the CPU; ``"cuda"`` without one is an error.

    A ``torch.device`` or a string such as ``"cuda:1"`` is accepted as well.
    """
    if isinstance(device, torch.device):
        name = device.type
    elif isinstance(device, str):
        name = device.split(":", 1)[0]
    else:
        raise ValueError(f"device: expected one of {DEVICES} or a torch.device, got {device!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device: expected one of {DEVICES}, got {device!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} was asked for but torch sees no CUDA device")
    return torch.device(device)
