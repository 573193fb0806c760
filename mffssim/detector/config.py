"""Detector settings: the default CPU-sized run and the paper's full-scale setting, and the glue that turns
a settings mapping into datasets and a trained network (what a workflow script calls).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from mffssim.detector.data import EMBEDDED_HELDOUT, EMBEDDED_TRAIN, SyntheticPairs, make_scenes


@dataclass
class DetectorConfig:
    """Every setting of training-data synthesis, network and training (see docs/detector.md)."""

    source: str = "embedded"          # embedded | voc_seg_samples | voc2012
    root: str | None = None           # folder of voc_seg_samples / the VOC 2012 extraction
    images: tuple[str, ...] = EMBEDDED_TRAIN   # embedded source only
    masks: str = "SegmentationObject"  # voc2012 only: SegmentationObject | SegmentationClass
    void: float = 0.5                 # matte value of VOC void (boundary) pixels
    crop: int = 48
    sigma_range: tuple[float, float] = (1.0, 4.0)
    scale_range: tuple[float, float] = (0.4, 1.0)  # window rescaling (textures at several scales)
    samples_per_epoch: int = 256
    width: int = 16
    blocks: int = 4
    epochs: int = 8
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    heldout_images: tuple[str, ...] = EMBEDDED_HELDOUT
    heldout_samples: int = 32
    heldout_crop: int = 128

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None = None) -> "DetectorConfig":
        """Defaults overridden by ``settings`` (e.g. the workflow's ``detector:`` config block)."""
        settings = dict(settings or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ValueError(f"unknown detector settings {unknown}; known: {sorted(known)}")
        for key in ("images", "heldout_images", "sigma_range", "scale_range"):
            if key in settings:
                settings[key] = tuple(settings[key])
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paper_config(**overrides: Any) -> DetectorConfig:
    """The paper's full-scale setting: F = 128, B = 8, batch 6, Adam lr 1e-4, 50 epochs, on VOC 2012."""
    settings = dict(source="voc2012", width=128, blocks=8, batch_size=6, lr=1e-4, epochs=50, crop=128,
                    samples_per_epoch=2913)
    settings.update(overrides)
    return DetectorConfig.from_mapping(settings)


def training_dataset(config: DetectorConfig) -> SyntheticPairs:
    """The training pairs a config describes."""
    options: dict[str, Any] = {}
    if config.source == "embedded":
        options["names"] = config.images
    else:
        options["void"] = config.void
        if config.source == "voc2012":
            options["masks"] = config.masks
    scenes = make_scenes(config.source, config.root, **options)
    return SyntheticPairs(scenes, samples=config.samples_per_epoch, crop=config.crop,
                          sigma_range=config.sigma_range, scale_range=config.scale_range, seed=config.seed)


def heldout_dataset(config: DetectorConfig) -> SyntheticPairs:
    """Held-out pairs: embedded images never used in training, their own seed, larger crops."""
    scenes = make_scenes("embedded", names=config.heldout_images)
    return SyntheticPairs(scenes, samples=config.heldout_samples, crop=config.heldout_crop,
                          sigma_range=config.sigma_range, scale_range=config.scale_range,
                          seed=config.seed + 1_000_003)


def train_from_config(config: DetectorConfig | Mapping[str, Any] | None, out_weights: str | os.PathLike, *,
                      checkpoint_dir: str | os.PathLike | None = None, log: str | os.PathLike | None = None,
                      device: str = "auto", threads: int | None = None, progress: bool = True) -> list[dict]:
    """Build the datasets of ``config`` and train; returns the per-epoch history (see ``train_detector``)."""
    from mffssim.detector.train import train_detector

    if not isinstance(config, DetectorConfig):
        config = DetectorConfig.from_mapping(config)
    return train_detector(
        training_dataset(config), out_weights, width=config.width, blocks=config.blocks, epochs=config.epochs,
        batch_size=config.batch_size, lr=config.lr, seed=config.seed, device=device,
        checkpoint_dir=checkpoint_dir, log=log, heldout=heldout_dataset(config), threads=threads,
        progress=progress,
    )
