"""The detector weights shipped inside the package, and the export that makes them.

``mffssim/detector/weights/focusnet.pt`` is a weights file of :func:`~mffssim.detector.train.save_weights`
(float32: float16 storage would halve a file of tens of kB but changed up to 0.04 % of a pair's map
pixels on the authors' 40 pairs) and ``focusnet.json`` beside it records how it was made: the training config, the
sha256 of every training data set's files, the code version, and the measured figures. ``mffssim fuse
--detector resnet`` without ``--weights`` and the workflow's ``detector.weights: shipped`` use them;
``snakemake detector --configfile config/detector.yaml`` remakes both files under results/detector/.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from mffssim.io import atomic_write

SHIPPED_NAME = "focusnet.pt"
RECORD_NAME = "focusnet.json"


def shipped_weights() -> Path:
    """Path of the weights shipped with the package (raises ``FileNotFoundError`` where the install lacks them)."""
    path = Path(str(resources.files("mffssim.detector") / "weights" / SHIPPED_NAME))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the shipped detector weights are missing from this install")
    return path


def folder_sha256(root: str | os.PathLike) -> str:
    """sha256 over every file under ``root``: relative paths and contents, in sorted order."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def embedded_sha256(names: Sequence[str]) -> str:
    """sha256 over scikit-image's bundled pictures ``names`` as the embedded source reads them (name, shape,
    dtype and pixel bytes, in order)."""
    import numpy as np
    from skimage import data as skdata

    digest = hashlib.sha256()
    for name in names:
        array = np.ascontiguousarray(getattr(skdata, name)())
        digest.update(f"{name}:{array.shape}:{array.dtype}".encode() + b"\0")
        digest.update(array.tobytes())
    return digest.hexdigest()


def code_version() -> dict[str, Any]:
    """The package version and, in a git checkout, its commit and whether the tree had changes."""
    from mffssim import __version__

    version: dict[str, Any] = {"mffssim": __version__}
    where = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True,
                                check=True, timeout=20).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=where.parent, capture_output=True,
                               text=True, check=True, timeout=20).stdout.strip()
        version |= {"commit": commit, "package_tree_changed": bool(dirty)}
    except (OSError, subprocess.SubprocessError):
        version["commit"] = None
    return version


def export_shipped(weights: str | os.PathLike, out_dir: str | os.PathLike, *, config: Mapping[str, Any],
                   data_roots: Mapping[str, str] | None = None, figures: Mapping[str, Any] | None = None,
                   half: bool = False) -> Path:
    """Write ``out_dir/focusnet.pt`` (the trained weights; float16 with ``half``) and ``focusnet.json`` (``config``, the
    sha256 of each folder of ``data_roots`` and of the embedded pictures where the config trains on them, the
    code version, ``figures``); return the weights' path."""
    from mffssim.detector.train import load_model, save_weights

    out_dir = Path(out_dir)
    model = load_model(weights, "cpu")
    out = out_dir / SHIPPED_NAME
    save_weights(model, out, half=half, config=dict(config))
    data = {name: folder_sha256(root) for name, root in sorted((data_roots or {}).items())}
    source = config.get("source", "embedded")
    if "embedded" in ([source] if isinstance(source, str) else list(source)):
        from mffssim.detector.data import EMBEDDED_HELDOUT, EMBEDDED_TRAIN

        data["embedded"] = embedded_sha256(config.get("images", EMBEDDED_TRAIN))
        data["embedded_heldout"] = embedded_sha256(config.get("heldout_images", EMBEDDED_HELDOUT))
    record = {
        "weights": SHIPPED_NAME,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "network": model.hyperparameters(),
        "training_config": dict(config),
        "data_sha256": data,
        "code_version": code_version(),
        "figures": dict(figures or {}),
    }
    text = json.dumps(record, indent=1, sort_keys=True, default=list) + "\n"
    atomic_write(out_dir / RECORD_NAME, lambda tmp: Path(tmp).write_text(text))
    return out
