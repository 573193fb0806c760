"""mffssim: multi-focus image fusion by maximising the MFF-SSIM index (Xu et al., IEEE TCI 2020).

The public names are loaded lazily, so ``import mffssim`` stays cheap (torch is only imported when an
engine function is first used) and a script that needs only the metrics never pays for the engine.
The equations and where each lives in the code: docs/method.md.

An example of `mffssim.fuse` is in the docstring of `mffssim.fusion`.
"""
from __future__ import annotations

from ._lazy import lazy_names

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC = {
    "read_image": "mffssim.io",
    "write_image": "mffssim.io",
    "read_image_set": "mffssim.io",
    "read_focus_map": "mffssim.io",
    "write_focus_map": "mffssim.io",
    "find_image_sets": "mffssim.io",
    "read_photo_metadata": "mffssim.io",
    "write_focus_map_preview": "mffssim.io",
    "align_stack": "mffssim.align",
    "warp_frames": "mffssim.align",
    "read_transforms": "mffssim.align",
    "write_transforms": "mffssim.align",
    "AlignmentError": "mffssim.align",
    "ImageError": "mffssim.io",
    "window_size": "mffssim.ssim",
    "mffssim_index": "mffssim.ssim",
    "mffssim_gradient": "mffssim.ssim",
    "laplacian_focus_map": "mffssim.focus",
    "fuse": "mffssim.fusion",
    "FusionResult": "mffssim.fusion",
    "pixelwise_fuse": "mffssim.fusion",
    "average_fuse": "mffssim.fusion",
    "defocus_pair": "mffssim.defocus",
    "defocus_layers": "mffssim.defocus",
    "DATASETS": "mffssim.datasets",
    "ManifestEntry": "mffssim.datasets",
    "load_manifest": "mffssim.datasets",
    "dataset_set_ids": "mffssim.datasets",
    "download_dataset": "mffssim.datasets",
    "verify_dataset": "mffssim.datasets",
    "DownloadError": "mffssim.datasets",
    "EMBEDDED_SETS": "mffssim.datasets",
    "make_embedded_dataset": "mffssim.datasets",
    "make_embedded_set": "mffssim.datasets",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, extra=["__version__"])
