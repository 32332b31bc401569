"""The MLflow UI as users see it: a real server over a store with a finished run, and headless Chromium."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.training import train

pytestmark = pytest.mark.browser


def chromium() -> str:
    """Debian's chromium, installed with apt when missing."""
    found = shutil.which("chromium")
    if not found:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True,
                       timeout=900, env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        found = shutil.which("chromium")
    assert found, "chromium could not be installed"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the MLflow server exited"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {seconds} s")


@pytest.fixture
def server(mlflow_store):
    config = load_config(None, {"end_model": {"kind": "tfidf"}, "mlflow": {
        "tracking_uri": f"sqlite:///{mlflow_store}/mlruns.db", "artifact_root": str(mlflow_store / "artifacts")}})
    result = train(config)
    port = free_port()
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    process = subprocess.Popen(
        [str(mlflow_cli), "server", "--backend-store-uri", f"sqlite:///{mlflow_store}/mlruns.db",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health", process)
        yield base, result
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_finished_run_is_served_and_rendered(server, tmp_path):
    base, result = server
    run = get_json(f"{base}/api/2.0/mlflow/runs/get?run_id={result.run_id}")["run"]
    assert run["info"]["status"] == "FINISHED"
    metrics = {m["key"] for m in run["data"]["metrics"]}
    assert {"labels.coverage", "labels.papers_trained", "run.seconds"} <= metrics
    versions = get_json(f"{base}/api/2.0/mlflow/registered-models/get?name=paper-area-classifier")
    assert versions["registered_model"]["aliases"] == [{"alias": "champion", "version": "1"}]

    url = f"{base}/#/experiments/{result.experiment_id}/runs"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1600,900", "--virtual-time-budget=30000"]
    browser = chromium()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert run["info"]["run_name"] in dom.stdout, "the run's name is not on the runs page"
    shot = tmp_path / "runs.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", url], capture_output=True, timeout=180, check=True)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1600, 900)
    assert len(png) > 30_000, "the screenshot is (nearly) blank"
