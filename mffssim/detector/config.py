"""Detector settings: the default CPU-sized run and the paper's full-scale setting, and the glue that turns
a settings mapping into datasets and a trained network (what a workflow script calls).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

from mffssim.detector.data import (
    EMBEDDED_HELDOUT, EMBEDDED_TRAIN, REFERENCE_PAIR_SOURCES, Scene, SyntheticPairs, make_scenes, split_by_image,
)
from mffssim.detector.masks import DERIVED_LEVELS, DERIVED_WINDOW


@dataclass
class DetectorConfig:
    """Every setting of training-data synthesis, network and training (see docs/detector.md)."""

    # embedded | voc_seg_samples | voc2012 | mf_voc_subset | nyu_d_100 | folder, or a tuple of them
    source: str | tuple[str, ...] = "embedded"
    # folder of a source that reads one (voc_seg_samples, the VOC 2012 extraction...); a mapping
    # {source: folder} when there are several
    root: str | Mapping[str, str] | None = None
    images: tuple[str, ...] = EMBEDDED_TRAIN   # embedded source only
    masks: str = "SegmentationObject"  # voc2012 only: SegmentationObject | SegmentationClass
    void: float = 0.5                 # matte value of VOC void (boundary) pixels
    crop: int = 48
    sigma_range: tuple[float, float] = (1.0, 4.0)
    scale_range: tuple[float, float] = (0.4, 1.0)  # window rescaling (textures at several scales)
    noise: float = 0.0                # most sensor-noise standard deviation added to the sources (0-1 scale)
    samples_per_epoch: int = 256
    width: int = 16
    blocks: int = 4
    epochs: int = 8
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    mask_window: int = DERIVED_WINDOW   # mf_voc_subset / nyu_d_100 / folder: the derived matte's rule
    mask_levels: float = DERIVED_LEVELS
    heldout_share: float = 0.0        # share of the real (non-embedded) images held out, by image
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
        if isinstance(settings.get("source"), (list, tuple)):
            settings["source"] = tuple(settings["source"])
        if isinstance(settings.get("root"), Mapping):
            settings["root"] = dict(settings["root"])
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paper_config(**overrides: Any) -> DetectorConfig:
    """The paper's full-scale setting: F = 128, B = 8, batch 6, Adam lr 1e-4, 50 epochs, on VOC 2012."""
    settings = dict(source="voc2012", width=128, blocks=8, batch_size=6, lr=1e-4, epochs=50, crop=128,
                    samples_per_epoch=2913)
    settings.update(overrides)
    return DetectorConfig.from_mapping(settings)


def _source_scenes(config: DetectorConfig, source: str) -> list[Scene]:
    options: dict[str, Any] = {}
    if source == "embedded":
        options["names"] = config.images
    if source in ("voc_seg_samples", "voc2012", "folder"):
        options["void"] = config.void
    if source == "voc2012":
        options["masks"] = config.masks
    if source in (*REFERENCE_PAIR_SOURCES, "folder"):
        options.update(window=config.mask_window, levels=config.mask_levels)
    root = config.root.get(source) if isinstance(config.root, Mapping) else config.root
    return [replace(scene, name=f"{source}/{scene.name}") for scene in make_scenes(source, root, **options)]


def training_scenes(config: DetectorConfig) -> tuple[list[Scene], list[Scene]]:
    """``(training, held-out)`` scenes of every source of ``config``: the real (non-embedded) images split
    by image (``heldout_share``, :func:`~mffssim.detector.data.split_by_image`), the embedded ones all
    trained on (their held-out pictures are other images, :func:`heldout_dataset`)."""
    sources = (config.source,) if isinstance(config.source, str) else tuple(config.source)
    if not sources or len(set(sources)) != len(sources):
        raise ValueError(f"detector source must name one or more distinct sources, got {config.source!r}")
    training, heldout = [], []
    for source in sources:
        scenes = _source_scenes(config, source)
        if source == "embedded":
            training += scenes
            continue
        kept, held = split_by_image(scenes, config.heldout_share, config.seed)
        training, heldout = training + kept, heldout + held
    if not training:
        raise ValueError(f"detector sources {sources}: every image is held out (heldout_share {config.heldout_share})")
    return training, heldout


def training_dataset(config: DetectorConfig) -> SyntheticPairs:
    """The training pairs a config describes."""
    return SyntheticPairs(training_scenes(config)[0], samples=config.samples_per_epoch, crop=config.crop,
                          sigma_range=config.sigma_range, scale_range=config.scale_range, seed=config.seed,
                          noise=config.noise)


def heldout_dataset(config: DetectorConfig) -> SyntheticPairs:
    """Held-out pairs: embedded images never used in training, their own seed, larger crops."""
    scenes = make_scenes("embedded", names=config.heldout_images)
    return SyntheticPairs(scenes, samples=config.heldout_samples, crop=config.heldout_crop,
                          sigma_range=config.sigma_range, scale_range=config.scale_range,
                          seed=config.seed + 1_000_003)


def real_heldout_dataset(config: DetectorConfig) -> SyntheticPairs | None:
    """Held-out pairs from the real images ``heldout_share`` keeps out of training (None without any)."""
    scenes = training_scenes(config)[1]
    if not scenes:
        return None
    return SyntheticPairs(scenes, samples=config.heldout_samples, crop=config.heldout_crop,
                          sigma_range=config.sigma_range, scale_range=config.scale_range,
                          seed=config.seed + 2_000_003)


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
