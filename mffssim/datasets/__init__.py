"""Datasets: manifests of the downloadable ones, checksummed download with a mirror, and the embedded
synthetic dataset made offline (see DESIGN.md, "Downloads and the mirror")."""
from __future__ import annotations

from .download import DownloadError, download_dataset, sha256_of, verify_dataset
from .embedded import EMBEDDED_SETS, EmbeddedSet, make_embedded_dataset, make_embedded_set
from .manifest import DATASETS, ManifestEntry, dataset_set_ids, load_manifest

__all__ = [
    "DATASETS", "ManifestEntry", "load_manifest", "dataset_set_ids",
    "DownloadError", "download_dataset", "verify_dataset", "sha256_of",
    "EMBEDDED_SETS", "EmbeddedSet", "make_embedded_set", "make_embedded_dataset",
]
