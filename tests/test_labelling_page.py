"""Issue 28: the labelling page as a labeller uses it: `train.py label` served for real, driven in headless Chromium
with the keyboard and the mouse; every answer is in the sheet the moment it is given, a killed server loses none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_mlflow_ui import chromium

from bench.harness import _answers, free_port
from labeling import load_taxonomy
from paper_areas.core.devtools import DevTools
from paper_areas.hand_labels import SKIPPED, Row, Sheet, read_sheet
from paper_areas.pipeline.config import DEFAULT_TAXONOMY, REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NAMES = load_taxonomy(DEFAULT_TAXONOMY).names
KEYS = {"1": ("1", 49), "Backspace": ("", 8), " ": (" ", 32)}  # key: (text it types, Windows virtual key code)


def start_page(sheet: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(REPO / "train.py"), "label", "--input", str(sheet), "--port",
                                str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _answers(f"http://127.0.0.1:{port}/api/state"):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.2)
    return process


def press(page: DevTools, key: str) -> None:
    text, code = KEYS[key]
    page.send("Input.dispatchKeyEvent", {"type": "keyDown" if text else "rawKeyDown", "key": key, "text": text,
                                         "windowsVirtualKeyCode": code})
    page.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "windowsVirtualKeyCode": code})


def shown(page: DevTools, expected: str, seconds: float = 20) -> dict:
    """Wait until the page shows the paper titled `expected` (or, for "", the all-done message); what it shows."""
    script = """(() => ({title: document.getElementById('labelling').hidden ? '' :
        document.getElementById('title').textContent, progress: document.getElementById('progress').textContent,
        suggested: [...document.querySelectorAll('#suggested button')].map(b => b.dataset.label),
        areas: document.querySelectorAll('#areas button').length}))()"""
    deadline = time.monotonic() + seconds
    while (now := page.evaluate(script)) is None or now["title"] != expected or not now["progress"]:
        assert time.monotonic() < deadline, f"the page shows {now}, not {expected!r}"
        time.sleep(0.2)
    return now


def labels(sheet: Path) -> list[str]:
    return [row.label for row in read_sheet(sheet).rows]


@pytest.fixture
def sheet(tmp_path) -> Path:
    path = tmp_path / "round1.csv"
    Sheet(path, [Row(i + 2, f"p{i}", f"Paper {i}", f"An abstract about topic {i}.",
                     suggested=f"{NAMES[i]} (0.60); {NAMES[i + 5]} (0.20)", chosen_by="representative")
                 for i in range(3)]).write()
    return path


def test_label_with_keys_and_clicks_undo_then_kill_and_resume_losing_nothing(sheet, tmp_path):
    port = free_port()
    server = start_page(sheet, port)
    page = DevTools(chromium(), tmp_path / "profile")
    try:
        page.attach_to_page()
        page.send("Page.navigate", {"url": f"http://127.0.0.1:{port}/"})
        first = shown(page, "Paper 0")
        assert first["progress"] == "0 / 3 answered"
        assert first["suggested"] == [NAMES[0], NAMES[5]] and first["areas"] == len(NAMES)  # every area reachable
        press(page, "1")  # the first suggestion
        shown(page, "Paper 1")
        assert labels(sheet) == [NAMES[0], "", ""]
        page.evaluate(f"document.querySelector('#areas button[data-label={json.dumps(NAMES[7])}]').click()")
        shown(page, "Paper 2")
        assert labels(sheet) == [NAMES[0], NAMES[7], ""]
        press(page, "Backspace")  # undo: paper 1 again
        assert shown(page, "Paper 1")["progress"] == "1 / 3 answered"
        assert labels(sheet) == [NAMES[0], "", ""]

        server.send_signal(signal.SIGKILL)  # no chance to save anything more
        server.wait()
        assert labels(sheet) == [NAMES[0], "", ""]
        assert not [p for p in sheet.parent.iterdir() if p.name.startswith(".")], "a temporary was left"
        server = start_page(sheet, port)
        page.send("Page.reload")
        assert shown(page, "Paper 1")["progress"] == "1 / 3 answered"
        press(page, " ")  # skip
        shown(page, "Paper 2")
        press(page, "1")
        shown(page, "")
        assert labels(sheet) == [NAMES[0], SKIPPED, NAMES[2]]
        assert page.evaluate("document.getElementById('progress').textContent") == "3 / 3 answered"
    finally:
        page.close()
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
