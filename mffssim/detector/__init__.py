"""The ResNet focus-map detector (paper Fig. 4, Eq. 16): network, training pairs, training, inference.

Names are loaded lazily, like the top-level package, so importing one part does not import the rest.
"""
from __future__ import annotations

from .._lazy import lazy_names

_PUBLIC = {
    "FocusNet": "mffssim.detector.network",
    "authors_network": "mffssim.detector.authors",
    "authors_state_dict": "mffssim.detector.authors",
    "count_parameters": "mffssim.detector.network",
    "SyntheticPairs": "mffssim.detector.data",
    "synthesize_pair": "mffssim.detector.data",
    "make_scenes": "mffssim.detector.data",
    "embedded_scenes": "mffssim.detector.data",
    "voc_seg_scenes": "mffssim.detector.data",
    "voc2012_scenes": "mffssim.detector.data",
    "to_gray": "mffssim.detector.data",
    "random_mask": "mffssim.detector.masks",
    "read_voc_mask": "mffssim.detector.masks",
    "train_detector": "mffssim.detector.train",
    "save_weights": "mffssim.detector.train",
    "load_model": "mffssim.detector.train",
    "DetectorConfig": "mffssim.detector.config",
    "paper_config": "mffssim.detector.config",
    "train_from_config": "mffssim.detector.config",
    "training_dataset": "mffssim.detector.config",
    "heldout_dataset": "mffssim.detector.config",
    "detect_focus_map": "mffssim.detector.inference",
    "focus_probability": "mffssim.detector.inference",
    "fuse_sequential": "mffssim.detector.inference",
    "fuse_sequential_result": "mffssim.detector.inference",
    "compose_step_maps": "mffssim.detector.inference",
    "evaluate_detector": "mffssim.detector.evaluate",
    "write_table": "mffssim.detector.evaluate",
    "score_focus_map": "mffssim.detector.evaluate",
    "train_and_evaluate": "mffssim.detector.run",
}

__all__ = sorted(_PUBLIC)


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)
