"""Checksummed, atomic, retrying download of a dataset's manifest, from its public urls or a mirror.

Each file goes to a temporary ``.<name>.*.part`` beside its target, is checked for size and sha256, then
renamed into place, so a target path only ever holds a verified file; a failure leaves no temporary file
and never touches good files already there. A mirror (a directory, or an http(s) url) laid out
``<mirror>/<dataset>/<dest>`` replaces each url by ``{mirror}/{dataset}/{dest}``.

:func:`cache_dir` is the per-user folder (outside any checkout) where the tests keep what they download.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, Sequence

from .manifest import ManifestEntry, load_manifest

_CHUNK = 1 << 16
_PART_SUFFIX = ".part"
STALE_PART_SECONDS = 600  # a .part file older than this is a leftover of an interrupted run
_USER_AGENT = "mffssim-download/0.1"


class DownloadError(RuntimeError):
    """A file that could not be fetched and verified; the message names the file, the url and the problem."""


class _Permanent(Exception):
    """A failure that retrying cannot fix (HTTP 4xx, a file missing from a directory mirror)."""


def cache_dir() -> Path:
    """The download cache: ``$MFFSSIM_CACHE`` if set, else ``$XDG_CACHE_HOME/mffssim``, else
    ``~/.cache/mffssim`` (not created here)."""
    if os.environ.get("MFFSSIM_CACHE"):
        return Path(os.environ["MFFSSIM_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mffssim"


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_matches(path: Path, entry: ManifestEntry) -> bool:
    """True when ``path`` is a file of the manifest's size and sha256."""
    return path.is_file() and path.stat().st_size == entry.bytes and sha256_of(path) == entry.sha256


def source_of(entry: ManifestEntry, name: str, mirror: str | os.PathLike | None) -> str:
    """Where to fetch ``entry`` from: its url, or ``{mirror}/{name}/{dest}`` (a path or a quoted url)."""
    if mirror is None:
        return entry.url
    text = os.fspath(mirror)
    if text.startswith(("http://", "https://", "file://")):
        return f"{text.rstrip('/')}/{urllib.parse.quote(name)}/{urllib.parse.quote(entry.dest, safe='/')}"
    return str(Path(text) / name / entry.dest)


def _open(source: str, timeout: float) -> BinaryIO:
    """Open a url or a local path for reading; classify failures that retrying cannot fix."""
    if not source.startswith(("http://", "https://", "file://")):
        if not Path(source).is_file():
            raise _Permanent("no such file in the mirror directory")
        return open(source, "rb")
    request = urllib.request.Request(source, headers={"User-Agent": _USER_AGENT})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if 400 <= error.code < 500 and error.code not in (408, 429):
            raise _Permanent(f"HTTP {error.code} {error.reason}") from None
        raise


def _local(call, *args):
    """``call(*args)`` on the local disk: an OSError there (full disk, read-only folder) is permanent."""
    try:
        return call(*args)
    except OSError as error:
        raise _Permanent(f"writing it failed: {error.strerror or error}") from None


def _fetch_once(source: str, entry: ManifestEntry, tmp: Path, timeout: float, bar) -> None:
    """Copy ``source`` into ``tmp`` while hashing; raise ValueError on a size or checksum mismatch."""
    digest, size = hashlib.sha256(), 0
    with _open(source, timeout) as response, _local(open, tmp, "wb") as out:
        while True:
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > entry.bytes:
                raise ValueError(f"size mismatch: more than the expected {entry.bytes} bytes")
            digest.update(chunk)
            _local(out.write, chunk)
            if bar is not None:
                bar.update(len(chunk))
    if size != entry.bytes:
        raise ValueError(f"size mismatch: expected {entry.bytes} bytes, got {size}")
    if digest.hexdigest() != entry.sha256:
        raise ValueError(f"checksum mismatch: expected sha256 {entry.sha256}, got {digest.hexdigest()}")


def _file_mode() -> int:
    """Permission bits a new file would get under the current umask (mkstemp's files are 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _remove_stale_parts(target: Path) -> None:
    """Delete this target's ``.part`` leftovers older than :data:`STALE_PART_SECONDS` (younger ones may
    belong to a download still running, and are left alone)."""
    cutoff = time.time() - STALE_PART_SECONDS
    for part in target.parent.glob(f".{target.name}.*{_PART_SUFFIX}"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
        except FileNotFoundError:
            pass


def fetch_file(
    entry: ManifestEntry, target: Path, source: str, *, retries: int, timeout: float, backoff: float, bar=None
) -> None:
    """Fetch one file into ``target`` atomically, retrying network errors; DownloadError on final failure."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"{target}: cannot create its folder {target.parent} ({error.strerror or error})") from None
    _remove_stale_parts(target)
    problem = "no attempt made"
    attempts = max(0, retries) + 1
    for attempt in range(1, attempts + 1):
        try:
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_PART_SUFFIX, dir=target.parent)
        except OSError as error:
            raise DownloadError(f"{target}: cannot write into {target.parent} ({error.strerror or error})") from None
        os.close(fd)
        tmp = Path(name)
        try:
            _fetch_once(source, entry, tmp, timeout, bar)
            _local(os.chmod, tmp, _file_mode())
            _local(os.replace, tmp, target)
            return
        except _Permanent as error:
            problem, attempts = str(error), attempt
            break
        except (ValueError, OSError, http.client.HTTPException) as error:  # URLError and timeouts are OSError
            problem = f"{type(error).__name__}: {error}" if not isinstance(error, ValueError) else str(error)
        finally:
            tmp.unlink(missing_ok=True)
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    raise DownloadError(f"{target}: download from {source} failed after {attempts} attempt(s): {problem}")


def download_dataset(
    name: str,
    dest_dir: str | os.PathLike,
    *,
    mirror: str | os.PathLike | None = None,
    manifest_dir: str | os.PathLike | None = None,
    retries: int = 3,
    timeout: float = 60,
    progress: bool = False,
    backoff: float = 1.0,
    sets: Sequence[str] | None = None,
) -> list[Path]:
    """Download every file of dataset ``name`` into ``dest_dir`` and return their paths (manifest order).

    ``sets``: only the files of these image sets (first path component of ``dest``); None takes all.

    A file already present with the right size and sha256 is kept as is. Others are fetched from the
    manifest url, or from ``{mirror}/{name}/{dest}`` when ``mirror`` (a directory or an http(s) url) is
    given, into a temporary file that is verified and renamed into place. Network errors are retried
    ``retries`` times, waiting ``backoff``, 2x``backoff``, ... seconds; HTTP 4xx is not retried. The first
    file that still fails raises :class:`DownloadError` naming the file, the url and the problem
    (checksum mismatch: expected vs got); no temporary file is left behind.
    """
    entries = load_manifest(name, manifest_dir)
    if sets is not None:
        wanted = set(sets)
        entries = [e for e in entries if e.dest.split("/", 1)[0] in wanted]
    root = Path(dest_dir)
    targets = [root / e.dest for e in entries]
    missing = [(e, t) for e, t in zip(entries, targets) if not file_matches(t, e)]
    bar = None
    if progress and missing:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(e.bytes for e, _ in missing), unit="B", unit_scale=True, desc=name)
    try:
        for entry, target in missing:
            fetch_file(
                entry, target, source_of(entry, name, mirror),
                retries=retries, timeout=timeout, backoff=backoff, bar=bar,
            )
    finally:
        if bar is not None:
            bar.close()
    return targets


def verify_dataset(
    name: str, dest_dir: str | os.PathLike, *, manifest_dir: str | os.PathLike | None = None
) -> list[str]:
    """Check a downloaded dataset against its manifest; return one line per problem (empty: all good)."""
    problems = []
    for entry in load_manifest(name, manifest_dir):
        path = Path(dest_dir) / entry.dest
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size != entry.bytes:
            problems.append(f"{path}: size {path.stat().st_size} bytes, expected {entry.bytes}")
        elif (got := sha256_of(path)) != entry.sha256:
            problems.append(f"{path}: checksum mismatch: expected sha256 {entry.sha256}, got {got}")
    return problems
