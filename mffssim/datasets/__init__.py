"""Datasets: manifests of the downloadable ones, checksummed download with a mirror, and the embedded
synthetic dataset made offline (see resources/datasets/README.md)."""
from __future__ import annotations

from .._lazy import lazy_names
from .manifest import DATASETS, EMBEDDED_SETS, TESTVECTOR_SETS, ManifestEntry, dataset_set_ids, load_manifest

# Loaded on first use, so that planning a workflow (which needs only the names above) skips scipy and
# the image codecs.
_LAZY = {
    "DownloadError": ".download", "download_dataset": ".download", "verify_dataset": ".download",
    "sha256_of": ".download", "cache_dir": ".download", "EmbeddedSet": ".embedded", "make_embedded_dataset": ".embedded",
    "make_embedded_set": ".embedded",
}


__all__ = [
    "DATASETS", "ManifestEntry", "load_manifest", "dataset_set_ids",
    "TESTVECTOR_SETS",
    "DownloadError", "download_dataset", "verify_dataset", "sha256_of", "cache_dir",
    "EMBEDDED_SETS", "EmbeddedSet", "make_embedded_set", "make_embedded_dataset",
]

__getattr__, __dir__ = lazy_names(__name__, _LAZY, extra=__all__)
