"""Shared pytest fixtures.

Data (data sets and test vectors) comes through ``tests/helpers.py``: the project's downloader fetches it
into the cache from the mirror named by ``MFFSSIM_MIRROR``, else from the public urls, else the test skips
with the reason (fails under ``CI=true``).

* ``fetch_data``: ``fetch_data(name) -> Path``, the cached folder of a data set or test-vector set
  (``<folder>/<dest>``); the cache's ``data`` folder is itself laid out like a mirror.
* ``mirror_dir``: ``Path`` of the directory ``MFFSSIM_MIRROR`` names (for what only a full local copy
  holds, e.g. each set's ``sources.tsv``).
* ``serve_directory``: factory, ``serve_directory(path) -> "http://127.0.0.1:<port>"``: serves ``path``
  read-only over HTTP from a thread until the test session ends (quiet, one port per call).
* ``http_mirror``: url of an http mirror holding at least the data sets of :data:`HTTP_MIRROR_SETS`
  (``MFFSSIM_MIRROR`` itself when it is a url, else that directory or the cache served on 127.0.0.1): pass
  it as ``download.mirror`` (or ``mirror=``) to download through the real code path, offline.
* ``dead_url``: ``http://127.0.0.1:<port>`` where nothing listens (connections are refused).
* ``tiny_run``: one finished run of the workflow with config/tiny.yaml (plus, where ``http_mirror`` is
  available, one MFFW pair downloaded from it with the authors' published results as methods), made once
  per session, with only what ``pip install -e ".[workflow]"`` brings importable (as the README installs it):
  ``{"dir": Path, "configs": tuple of extra config files, "mirror": url or None}``. Tests read
  it (tests/test_workflow.py) or compare against it (tests/test_reruns.py); none may change it.
"""
from __future__ import annotations

import functools
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import helpers

# the data sets that http_mirror must hold (tests/test_datasets.py, the tiny run's MFFW pair)
HTTP_MIRROR_SETS = ("grayscale", "mffssim_examples", "mffw", "mffssim_official_results")


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files, without a log line per request on stderr."""

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="session")
def fetch_data():
    return helpers.fetch


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    where = helpers.mirror()
    if where is None or where.startswith(("http://", "https://", "file://")) or not Path(where).is_dir():
        helpers.missing(f"{helpers.MIRROR_ENV} does not name a directory ({where or 'it is not set'})")
    return Path(where)


@pytest.fixture(scope="session")
def serve_directory():
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def serve(directory: str | Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"http {directory}", daemon=True
        )
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def http_mirror(serve_directory) -> str:
    where = helpers.mirror()
    if where is not None and where.startswith(("http://", "https://")):
        return where.rstrip("/")
    if where is not None and Path(where).is_dir():
        return serve_directory(where)
    folders = [helpers.fetch(name) for name in HTTP_MIRROR_SETS]  # from the public urls, into the cache
    return serve_directory(folders[0].parent)


@pytest.fixture
def dead_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread: tiny images are faster so, and a busy shared CPU makes two spinning
    threads crawl. Test modules opt in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, request) -> dict:
    from helpers import failure_text, snakemake, write_config  # the workflow runner of tests/helpers.py

    workdir = tmp_path_factory.mktemp("workflow")
    configs = []
    try:
        mirror = request.getfixturevalue("http_mirror")
    except pytest.skip.Exception:
        mirror = None
    if mirror is not None:
        configs.append(write_config(workdir / "mirror.yaml", {
            "datasets": ["embedded", "mffw"],
            "sets": {"mffw": ["mffw2_01"]},
            "download": {"mirror": mirror},
            "fusion": {"methods": ["mffssim_paper", "pixelwise", "average", "official"]},
        }))
    proc = snakemake(workdir, configs=tuple(configs), fresh=("workflow",))
    assert proc.returncode == 0, failure_text(proc)
    return {"dir": workdir, "configs": tuple(configs), "mirror": mirror}
