"""A local REST model server: `mlflow models serve` (what `make serve` runs) on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prediction.model import DEFAULT_MODEL_URI


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(model_uri: str, port: int) -> list[str]:
    """The `make serve` command with this interpreter's mlflow."""
    return [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
            "--host", "127.0.0.1", "--port", str(port)]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def model_server(model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None,
                 timeout: float = 180.0) -> Iterator[str]:
    """Start the server, yield its base URL once /ping answers, then stop it and its workers."""
    port = free_port()
    environment = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}
    if tracking_uri:
        environment["MLFLOW_TRACKING_URI"] = tracking_uri
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "serve.log"
        with log.open("w") as output:  # the venv's bin goes first on PATH: the server execs `uvicorn` from there
            process = subprocess.Popen(serve_command(model_uri, port), env=environment, stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while not _answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the model server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
