"""Take the README's screenshot of the MLflow runs page (docs/mlflow-runs.png) from a real store.

    .venv/bin/python docs/screenshot_runs.py --store sqlite:////path/to/mlruns.db [--experiment NAME] [--out PNG]

Starts `mlflow server` over the store on a free 127.0.0.1 port, opens the experiment's runs page in headless Chromium
at 1600x900, checks it and writes the PNG: the table shows Run Name, Created, Duration, Models and the end model's
gold accuracy and macro-F1 (Source and Dataset hidden so that the metrics fit), the MLflow Assistant panel closed; a
missing or cut-off column or an open panel fails with one line.

MLflow 3.17's UI keeps that state in localStorage, which the script fills before the page's own scripts run:
- `MLflowLocalStorage-1.1-ExperimentPage-["<experiment id>"]-ReactComponentState`: the runs page's UI state, whose
  `selectedColumns` are keys such as "attributes.`Models`" and "metrics.`gold.end_model.accuracy`" (Run Name,
  Created and Duration are always shown), and whose `columnWidths` apply to the columns listed in `columnOrder`;
- `mlflow.assistant.panelOpen_v1` = false, and `mlflow.assistant.fab.autoOpenedOnFirstLoad_v1` = true (on a local
  server the UI opens the panel by itself on the first visit unless that flag is set). The Assistant's small
  round button stays in the bottom-right corner: the UI offers it to every localhost visitor.
Chromium is driven over the DevTools protocol (`paper_areas.core.devtools`): no extra dependency.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
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
from typing import Any

from paper_areas.core import UserError, fail_cleanly, write_output
from paper_areas.core.devtools import DevTools, wait_or_kill
from paper_areas.core.environment import set_run_environment
from paper_areas.tracking.store import sqlite_path

WIDTH, HEIGHT = 1600, 900
METRICS = ("gold.end_model.accuracy", "gold.end_model.macro_f1")
ATTRIBUTES = ("Models",)  # besides Run Name, Created and Duration, which the runs table always shows
HEADERS = ("Run Name", "Created", "Duration", *ATTRIBUTES, *METRICS)
# The runs table's ids of Run Name, Created and Duration (the column order names every column it applies widths to)
ALWAYS_SHOWN_COLUMNS = ("attributes.`Run Name`", "runDateAndNestInfo", "duration")
METRIC_COLUMN_WIDTH = 190  # pixels: wide enough for "gold.end_model.macro_f1" (the default cuts it short)
SERVER_START_SECONDS = 120
PAGE_LOAD_SECONDS = 90


class ScreenshotError(UserError):
    """The store, the experiment, Chromium or the rendered page is not what the screenshot needs."""


def check_store(store: str) -> None:
    """Refuse a store that is not an existing `sqlite:///` database file (the server would create an empty one)."""
    path = sqlite_path(store)
    if path is None:
        raise ScreenshotError(f"--store: expected a sqlite:///path/to/mlruns.db URI, got {store!r}")
    if not path.is_file():
        raise ScreenshotError(f"--store: {path}: no such file")


@contextmanager
def mlflow_server(store: str, workdir: Path) -> Iterator[str]:
    """A real `mlflow server` over `store` on a free 127.0.0.1 port; yields its base URL once it answers (else
    ScreenshotError) and stops it on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base, log = f"http://127.0.0.1:{port}", workdir / "mlflow-server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri", store,
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=workdir, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                lines = log.read_text(errors="replace").strip().splitlines() or ["(no output)"]
                raise ScreenshotError(f"mlflow server exited with status {server.returncode}: {lines[-1]}")
            if time.monotonic() > deadline:
                raise ScreenshotError(f"mlflow server did not answer {base}/health within {SERVER_START_SECONDS} s")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        wait_or_kill(server, 30)


def call_api(base: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    """One MLflow REST call (a POST of `body`); its JSON answer."""
    request = urllib.request.Request(f"{base}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        message = json.loads(exc.read() or b"{}").get("message", exc.reason)
        raise ScreenshotError(f"MLflow API {endpoint}: {message}") from None


def find_experiment(base: str, store: str, name: str | None) -> dict[str, Any]:
    """The experiment called `name`, or (None) the one whose latest run started last."""
    experiments = call_api(base, "experiments/search", {"max_results": 1000}).get("experiments", [])
    if name is not None:
        named = [experiment for experiment in experiments if experiment["name"] == name]
        if not named:
            raise ScreenshotError(f"--experiment: no experiment named {name!r} in {store}")
        return named[0]
    by_id = {experiment["experiment_id"]: experiment for experiment in experiments}
    latest = call_api(base, "runs/search", {"experiment_ids": list(by_id), "max_results": 1,
                                            "order_by": ["attributes.start_time DESC"]}).get("runs") if by_id else None
    if not latest:
        raise ScreenshotError(f"no experiment in {store} has a run")
    return by_id[latest[0]["info"]["experiment_id"]]


def check_runs_have_gold(base: str, experiment: dict[str, Any]) -> None:
    """Refuse an experiment none of whose runs logged the gold metrics: their columns would not exist."""
    condition = " and ".join(f"metrics.`{key}` >= 0" for key in METRICS)
    runs = call_api(base, "runs/search", {"experiment_ids": [experiment["experiment_id"]], "max_results": 1,
                                          "filter": condition}).get("runs", [])
    if not runs:
        raise ScreenshotError(f"experiment {experiment['name']!r} has no run with {' and '.join(METRICS)}: "
                              "train with --gold first")


def ui_state_script(experiment_id: str) -> str:
    """JavaScript that stores the runs page's columns and the closed Assistant panel in localStorage."""
    attributes = [f"attributes.`{name}`" for name in ATTRIBUTES]
    metrics = [f"metrics.`{key}`" for key in METRICS]
    runs_page = {"selectedColumns": attributes + metrics,
                 "columnOrder": [*ALWAYS_SHOWN_COLUMNS, *attributes, *metrics],
                 "columnWidths": dict.fromkeys(metrics, METRIC_COLUMN_WIDTH)}
    items = {f"MLflowLocalStorage-1.1-ExperimentPage-{json.dumps([experiment_id])}-ReactComponentState":
             json.dumps(runs_page),
             "mlflow.assistant.panelOpen_v1": "false", "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true"}
    sets = "".join(f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)});" for key, value in items.items())
    return f"if (location.protocol.startsWith('http')) {{ {sets} }}"


# Evaluated in the page: "" when the table shows runs and every wanted header in view, with the Assistant panel (its
# question box) off screen; else what is wrong.
PAGE_CHECK = """(() => {
  const wanted = %s;
  const headers = [...document.querySelectorAll('.ag-header-cell')];
  const viewport = document.querySelector('.ag-body-viewport, .ag-center-cols-viewport');
  const right = viewport ? viewport.getBoundingClientRect().right : window.innerWidth;
  const missing = [], clipped = [];
  for (const name of wanted) {
    const label = headers.flatMap(h => [...h.querySelectorAll('span')]).find(s => s.textContent.trim() === name);
    if (!label) missing.push(name);
    else if (label.getBoundingClientRect().right > Math.min(right, label.closest('.ag-header-cell')
        .getBoundingClientRect().right) + 1) clipped.push(name);
  }
  if (!document.querySelectorAll('.ag-center-cols-container .ag-row').length) return 'no runs in the table';
  const columns = [['missing', missing], ['cut off', clipped]].filter(([, names]) => names.length)
    .map(([what, names]) => `${what} columns: ${names.join(', ')}`).join('; ');
  const assistant = [...document.querySelectorAll('textarea, input')]
    .some(e => (e.placeholder || '').startsWith('Ask a question') && e.getClientRects().length > 0);
  return columns || (assistant ? 'the MLflow Assistant panel is open' : '');
})()"""


def wait_for_table(page: DevTools, seconds: float = PAGE_LOAD_SECONDS) -> None:
    """Return once the runs table shows rows and every wanted header in view with the Assistant panel closed;
    else raise ScreenshotError saying what is wrong."""
    check = PAGE_CHECK % json.dumps(HEADERS)
    deadline = time.monotonic() + seconds
    problem = None
    while time.monotonic() < deadline:
        problem = page.evaluate(check)  # None while the page cannot run the check
        if problem == "":
            return
        time.sleep(0.5)
    raise ScreenshotError(f"the runs page is not ready after {seconds:.0f} s: {problem or 'no runs in the table'}")


def screenshot(url: str, experiment_id: str, out: Path, chromium: str, workdir: Path, dom: Path | None) -> None:
    """Open `url` in headless Chromium with the UI state set, check the table and write the PNG (and the DOM)."""
    page = DevTools(chromium, workdir / "profile", WIDTH, HEIGHT)
    try:
        page.attach_to_page()
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        page.send("Page.enable")  # without it Chromium 156 did not run the script below on the next document
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": ui_state_script(experiment_id)})
        page.send("Page.navigate", {"url": url})
        wait_for_table(page)
        time.sleep(1)  # let icons and fonts finish painting
        png = base64.b64decode(page.send("Page.captureScreenshot", {"format": "png"})["data"])
        html = page.evaluate("document.documentElement.outerHTML") if dom is not None else None
    finally:
        page.close()
    write_output(out, png)
    if dom is not None:
        write_output(dom, html)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="the MLflow store, sqlite:////path/to/mlruns.db")
    parser.add_argument("--experiment", help="the experiment's name (default: the one whose latest run started last)")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("mlflow-runs.png"),
                        help="the PNG to write (default: docs/mlflow-runs.png)")
    parser.add_argument("--dom", type=Path, help="also write the page's HTML as shot, to check it")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium",
                        help="the Chromium executable (default: chromium on PATH)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    set_run_environment()  # also the mlflow server's
    args = parse_args(argv)
    check_store(args.store)
    if not Path(args.chromium).is_file():
        raise ScreenshotError(f"--chromium: {args.chromium}: no such file (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="screenshot-runs-") as workdir, \
            mlflow_server(args.store, Path(workdir)) as base:
        experiment = find_experiment(base, args.store, args.experiment)
        check_runs_have_gold(base, experiment)
        url = f"{base}/#/experiments/{experiment['experiment_id']}/runs"
        screenshot(url, experiment["experiment_id"], args.out, args.chromium, Path(workdir), args.dom)
    print(f"{args.out}: runs page of experiment {experiment['name']!r}, {WIDTH}x{HEIGHT}")
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
