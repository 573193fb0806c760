"""Shared pytest fixtures.

* ``shared_dir``: ``Path`` of ``../shared`` (the repository's sibling, where CI keeps it); the test is
  skipped with a clear reason when it is absent (a user's machine).
* ``shared_data``: ``shared_dir / "data"``, laid out ``<dataset>/<dest>`` like a download mirror.
* ``serve_directory``: factory, ``serve_directory(path) -> "http://127.0.0.1:<port>"``: serves ``path``
  read-only over HTTP from a thread until the test session ends (quiet, one port per call).
* ``http_mirror``: url of a server for ``../shared/data``: pass it as ``download.mirror`` (or
  ``mirror=``) to download any dataset through the real code path, offline.
* ``dead_url``: ``http://127.0.0.1:<port>`` where nothing listens (connections are refused).
* ``tiny_run``: one finished run of the workflow with config/tiny.yaml (plus, where ../shared is present, one
  MFFW pair downloaded from ``http_mirror`` with the authors' published results as methods), made once per
  session: ``{"dir": Path, "configs": tuple of extra config files, "mirror": url or None}``. Tests read it
  (tests/test_workflow.py) or compare against it (tests/test_reruns.py); none may change it.
"""
from __future__ import annotations

import functools
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Static files, without a log line per request on stderr."""

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (the shared data folder beside the repository)")
    return SHARED


@pytest.fixture(scope="session")
def shared_data(shared_dir: Path) -> Path:
    data = shared_dir / "data"
    if not data.is_dir():
        pytest.skip(f"{data} is absent")
    return data


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
def http_mirror(serve_directory, shared_data: Path) -> str:
    return serve_directory(shared_data)


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
    from helpers import failure_text as _fail, snakemake, write_config  # the workflow runner of tests/helpers.py

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
    proc = snakemake(workdir, configs=tuple(configs))
    assert proc.returncode == 0, _fail(proc)
    return {"dir": workdir, "configs": tuple(configs), "mirror": mirror}
