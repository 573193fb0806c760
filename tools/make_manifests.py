#!/usr/bin/env python3
"""Regenerate ``resources/datasets/<name>.tsv`` from
``<data>/<name>/sources.tsv``, where ``<data>`` is a local copy laid out like a mirror (each data set in
its own folder, with the ``sources.tsv`` and ``SOURCE.md`` it was made from; the test vectors' manifests
are read from the mirror itself and not committed);
``--data`` defaults to ``$MFFSSIM_MIRROR``.

Each sources.tsv is validated (header, sha256 format, safe destinations), its file count is checked
against the "N data files" line of the folder's SOURCE.md and, unless ``--no-verify``, every listed file
of the local copy is checked for size and sha256. ``--check`` writes nothing and exits 1 when a committed
manifest differs from what would be generated (for CI).

    python tools/make_manifests.py [--data DIR] [--out resources/datasets]
                                   [--check]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mffssim.datasets.download import sha256_of  # noqa: E402
from mffssim.datasets.manifest import (  # noqa: E402
    DATASETS, MANIFEST_COLUMNS, ManifestEntry, parse_manifest,
)

_COUNT_LINE = re.compile(r"(\d+) data files|\((\d+) files\)")
# data sets whose local copy holds only part of the listed files (SOURCE.md says which): the files of these
# destination prefixes may be absent locally; those present are verified like any other
PARTLY_STORED = {"mfifb_results": ("aymaz_",)}


def expected_count(folder: Path) -> int:
    """The file count that SOURCE.md states ("N data files"); where it states none, the number of files
    that the folder's MANIFEST.sha256 lists."""
    match = _COUNT_LINE.search((folder / "SOURCE.md").read_text(encoding="utf-8"))
    if match:
        return int(match.group(1) or match.group(2))
    listed = folder / "MANIFEST.sha256"
    if listed.is_file():
        return sum(1 for line in listed.read_text(encoding="utf-8").splitlines() if line.strip())
    raise SystemExit(f"{folder / 'SOURCE.md'}: no 'N data files' line (and no MANIFEST.sha256) to check the count against")


def verify_local(folder: Path, entries: list[ManifestEntry]) -> list[str]:
    """Problems with the local copy of the listed files (missing, wrong size, wrong sha256)."""
    problems = []
    unstored = PARTLY_STORED.get(folder.name, ())
    for entry in entries:
        path = folder / entry.dest
        if not path.is_file() and entry.dest.startswith(unstored):
            continue  # listed, not stored in the local copy (SOURCE.md): checked when downloaded
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != entry.bytes:
            problems.append(f"{path}: {path.stat().st_size} bytes, sources.tsv says {entry.bytes}")
        elif sha256_of(path) != entry.sha256:
            problems.append(f"{path}: sha256 differs from sources.tsv")
    return problems


def render(entries: list[ManifestEntry]) -> str:
    """Manifest text: header, then one tab-separated row per file, LF line ends."""
    rows = ["\t".join(MANIFEST_COLUMNS)]
    rows += [f"{e.dest}\t{e.sha256}\t{e.bytes}\t{e.url}" for e in entries]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mirror = os.environ.get("MFFSSIM_MIRROR")
    parser.add_argument("--data", type=Path, default=Path(mirror) if mirror else None, required=not mirror,
                        help="a local copy laid out <data>/<name>/sources.tsv (default: $MFFSSIM_MIRROR)")
    parser.add_argument("--out", type=Path, default=REPO / "resources" / "datasets", help="where manifests go")
    parser.add_argument("--no-verify", action="store_true", help="skip hashing the local files")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a manifest is stale")
    args = parser.parse_args(argv)

    stale, problems = [], []
    jobs = [(name, args.out) for name in DATASETS]
    for name, out in jobs:
        folder = args.data / name
        sources = folder / "sources.tsv"
        if not sources.is_file():
            problems.append(f"{sources}: missing")
            continue
        entries = parse_manifest(sources.read_text(encoding="utf-8"), str(sources))
        if len(entries) != expected_count(folder):
            problems.append(f"{sources}: {len(entries)} files but SOURCE.md says {expected_count(folder)}")
        if not args.no_verify:
            problems += verify_local(folder, entries)
        text = render(entries)
        target = out / f"{name}.tsv"
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(str(target))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        print(f"{name}: {len(entries)} files, {sum(e.bytes for e in entries) / 2**20:.2f} MiB")
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    for path in stale:
        print(f"stale: {path} (rerun tools/make_manifests.py)", file=sys.stderr)
    return 1 if problems or stale else 0


if __name__ == "__main__":
    sys.exit(main())
