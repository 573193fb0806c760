"""FocusNet: the ResNet focus-map detector of the paper (Fig. 4).

Two gray sources go through one shared trunk (weights tied); their features are concatenated and a last
3x3 convolution with a sigmoid gives, per pixel, the probability that source 1 is the one in focus.
Every convolution is 3x3, reflection-padded by 1 and bias-free, so the network keeps the image size and
has a finite receptive field (``FocusNet.halo`` pixels each side), which makes exact tiling possible.
"""
from __future__ import annotations

import torch
from torch import nn

# luma weights (R, G, B) of the gray the network is fed: bt709 is scikit-image's rgb2gray (this project's
# training), bt601 kornia's RgbToGrayscale (the authors' training and inference)
GRAY_WEIGHTS = {"bt709": (0.2125, 0.7154, 0.0721), "bt601": (0.299, 0.587, 0.114)}


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    """A 3x3 convolution, reflection padding 1, no bias (every convolution of the paper's network)."""
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, padding_mode="reflect", bias=False)


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN, plus the identity, then ReLU."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(width, width), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            conv3x3(width, width), nn.BatchNorm2d(width),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(x + self.body(x))


class FocusNet(nn.Module):
    """The paper's detector: shared trunk CBR(1->F) + B residual blocks, concat (2F) -> 3x3 conv -> sigmoid.

    ``forward(x1, x2)`` takes two ``(N, 1, H, W)`` gray tensors in [0, 1] and returns ``(N, 1, H, W)`` in
    [0, 1]: > 0.5 where source 1 is in focus. ``FocusNet(128, 8)`` has 2,367,104 trainable parameters.
    ``gray`` names the luma weights (:data:`GRAY_WEIGHTS`) colour sources are converted with before they
    are fed to this network.
    """

    def __init__(self, width: int = 128, blocks: int = 8, gray: str = "bt709") -> None:
        super().__init__()
        if int(width) < 1 or int(blocks) < 0:
            raise ValueError(f"FocusNet needs width >= 1 and blocks >= 0, got width={width}, blocks={blocks}")
        if gray not in GRAY_WEIGHTS:
            raise ValueError(f"FocusNet gray must be one of {sorted(GRAY_WEIGHTS)}, got {gray!r}")
        self.width, self.blocks, self.gray = int(width), int(blocks), gray
        self.trunk = nn.Sequential(
            conv3x3(1, self.width), nn.BatchNorm2d(self.width), nn.ReLU(inplace=True),
            *[ResidualBlock(self.width) for _ in range(self.blocks)],
        )
        self.head = conv3x3(2 * self.width, 1)

    @property
    def halo(self) -> int:
        """Receptive-field radius in pixels: one per 3x3 convolution on the longest path (2B + 2)."""
        return 2 * self.blocks + 2

    def hyperparameters(self) -> dict[str, int | str]:
        """The settings needed to rebuild this network (saved with the weights); ``gray`` only when it is
        not the default, so files written before it existed still load."""
        settings: dict[str, int | str] = {"width": self.width, "blocks": self.blocks}
        if self.gray != "bt709":
            settings["gray"] = self.gray
        return settings

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        if x1.ndim != 4 or x1.shape[1] != 1 or x1.shape != x2.shape:
            raise ValueError(f"FocusNet takes two (N, 1, H, W) tensors of one shape, got {tuple(x1.shape)} "
                             f"and {tuple(x2.shape)}")
        # one pass through the shared trunk for both sources (batch them together)
        features = self.trunk(torch.cat([x1, x2], dim=0))
        f1, f2 = features.chunk(2, dim=0)
        return torch.sigmoid(self.head(torch.cat([f1, f2], dim=1)))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
