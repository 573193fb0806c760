"""The authors' published weights (``block8_feat128.pth`` of the MFF-SSIM repository) as a FocusNet.

Their file is a bare state dict saved from CUDA under the parameter names of their own modules: a first
conv-BN-ReLU ``conv0`` (convolution ``conv0.conv.conv2d``, batch norm ``conv0.norm``), residual blocks
``main.<i>`` (``conv1.conv2d``, ``norm1``, ``conv2.conv2d``, ``norm2``) and a last convolution
``conv1.conv.conv2d`` on the concatenated features. Their network is FocusNet's (same layers in the same
order, reflection padding, no biases), so the state dict maps one to one onto it; every shape is checked.
They turn colour sources to gray with kornia's ``RgbToGrayscale`` (ITU-R 601 weights), so a network built
from their weights carries ``gray="bt601"`` and is fed that gray (:func:`mffssim.detector.data.to_gray`).
"""
from __future__ import annotations

import re
from typing import Mapping

import torch

from mffssim.detector.network import FocusNet

_BLOCK = re.compile(r"^main\.(\d+)\.")
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
FIRST_CONV = "conv0.conv.conv2d.weight"


def is_authors_state_dict(payload: object) -> bool:
    """Whether ``payload`` looks like the authors' state dict (a mapping with their first convolution)."""
    return isinstance(payload, Mapping) and FIRST_CONV in payload


def _name_map(blocks: int) -> dict[str, str]:
    """Their parameter name -> FocusNet's, for a network of ``blocks`` residual blocks."""
    names = {FIRST_CONV: "trunk.0.weight", "conv1.conv.conv2d.weight": "head.weight"}
    names.update({f"conv0.norm.{p}": f"trunk.1.{p}" for p in _BN})
    for i in range(blocks):
        ours = f"trunk.{3 + i}.body"  # trunk: conv, BN, ReLU, then the blocks
        names[f"main.{i}.conv1.conv2d.weight"] = f"{ours}.0.weight"
        names[f"main.{i}.conv2.conv2d.weight"] = f"{ours}.3.weight"
        names.update({f"main.{i}.norm1.{p}": f"{ours}.1.{p}" for p in _BN})
        names.update({f"main.{i}.norm2.{p}": f"{ours}.4.{p}" for p in _BN})
    return names


def authors_network(state: Mapping[str, torch.Tensor], source: str = "state dict") -> FocusNet:
    """A FocusNet (``gray="bt601"``) holding the authors' weights; ``source`` names the file in errors.

    Width and depth are read from the state dict (their published network: 128 x 8). Raises ``ValueError``
    naming ``source`` and the first problem: a parameter missing, left over, or of the wrong shape.
    """
    if not is_authors_state_dict(state):
        raise ValueError(f"{source}: not the authors' state dict (no {FIRST_CONV})")
    first = state[FIRST_CONV]
    if not isinstance(first, torch.Tensor) or first.ndim != 4 or tuple(first.shape[1:]) != (1, 3, 3):
        raise ValueError(f"{source}: {FIRST_CONV} should be a (F, 1, 3, 3) tensor, "
                         f"got {tuple(getattr(first, 'shape', ()))}")
    blocks = len({int(m.group(1)) for m in map(_BLOCK.match, state) if m})
    model = FocusNet(width=int(first.shape[0]), blocks=blocks, gray="bt601")
    names = _name_map(blocks)
    leftover = sorted(set(state) - set(names))
    missing = sorted(set(names) - set(state))
    if leftover or missing:
        problems = ([f"unexpected parameters {leftover[:4]}"] if leftover else []) + (
            [f"missing parameters {missing[:4]}"] if missing else [])
        raise ValueError(f"{source}: not the authors' {model.width} x {blocks} network: " + "; ".join(problems))
    expected = model.state_dict()
    mapped = {}
    for theirs, ours in names.items():
        value = state[theirs]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != tuple(expected[ours].shape):
            raise ValueError(f"{source}: {theirs} has shape {tuple(getattr(value, 'shape', ()))}, a "
                             f"{model.width} x {blocks} network needs {tuple(expected[ours].shape)}")
        mapped[ours] = value.detach().to("cpu", expected[ours].dtype)
    model.load_state_dict(mapped)
    return model


def authors_state_dict(model: FocusNet) -> dict[str, torch.Tensor]:
    """The state dict of ``model`` under the authors' parameter names (the inverse of :func:`authors_network`)."""
    state = model.state_dict()
    return {theirs: state[ours].detach().clone() for theirs, ours in _name_map(model.blocks).items()}
