"""Focus stacks whose frames are not named ``source_k`` (``FRAME_SOURCES`` in :mod:`.manifest`).

After a download, :func:`link_frame_sources` gives each set of such a data set its ``source_k.<ext>`` files
as hard links to the frames (copies where the file system has none), in the order of the frame numbers, so
that :func:`mffssim.io.find_image_sets` and the workflow read them like any other set. The manifest keeps
the upstream names (``pcb/pcb_001.jpg``), so a mirror laid out like the upstream folder serves them.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .manifest import FRAME_SOURCES, load_manifest


def frame_files(name: str, manifest_dir: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """The frames of each set of data set ``name`` (manifest dests), in frame order; {} for other data sets."""
    pattern = FRAME_SOURCES.get(name)
    if pattern is None:
        return {}
    regex = re.compile(pattern)
    sets: dict[str, list[tuple[int, str]]] = {}
    for entry in load_manifest(name, manifest_dir):
        if "/" not in entry.dest:
            continue
        set_id, file = entry.dest.split("/", 1)
        match = regex.match(Path(file).stem)
        if match:
            sets.setdefault(set_id, []).append((int(match.group(1)), entry.dest))
    return {set_id: [dest for _, dest in sorted(found)] for set_id, found in sorted(sets.items())}


def link_frame_sources(name: str, root: str | os.PathLike, manifest_dir: str | os.PathLike | None = None) -> list[Path]:
    """Make ``<root>/<set>/source_k.<ext>`` for the k-th frame of each set (a no-op for other data sets);
    return the paths made. An existing ``source_k`` that is already the frame is left alone."""
    root = Path(root)
    made = []
    for set_id, dests in frame_files(name, manifest_dir).items():
        for k, dest in enumerate(dests, start=1):
            frame = root / dest
            target = root / set_id / f"source_{k}{frame.suffix.lower()}"
            if target.exists():
                if target.samefile(frame):
                    continue
                target.unlink()
            try:
                os.link(frame, target)
            except OSError:
                shutil.copyfile(frame, target)
            made.append(target)
    return made
