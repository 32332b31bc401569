"""docs/screenshot_runs.py as the lead runs it: a real store with a finished run, a real mlflow server, Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dumps import papers_frame, read_dumps
from labeling import load_taxonomy
from pipeline.config import REPO, load_config
from pipeline.training import train

SCRIPT = REPO / "docs" / "screenshot_runs.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def store_with_gold_run(mlflow_store: Path, sample_dumps: list[Path]) -> str:
    """The store URI after one quick TF-IDF training with gold, so that the run has the gold metrics. The gold is
    sample papers with arbitrary areas: the test looks at the columns, not at the scores."""
    names = load_taxonomy(REPO / "configs/taxonomies/iclr2025.yaml").names
    papers = papers_frame(read_dumps(sample_dumps[:1]))
    gold = mlflow_store / "gold.jsonl"
    rows = papers[["title", "abstract"]].to_dict("records")
    gold.write_text("".join(json.dumps({**row, "label": names[i % len(names)]}) + "\n" for i, row in enumerate(rows)))
    uri = f"sqlite:///{mlflow_store}/mlruns.db"
    train(load_config(None, {
        "gold": str(gold), "label_model": {"epochs": 10, "embedding_lfs": False},
        "end_model": {"kind": "tfidf", "calibrate": False},
        "mlflow": {"tracking_uri": uri, "artifact_root": str(mlflow_store / "artifacts")},
    }))
    return uri


@pytest.mark.browser
def test_screenshot_shows_the_gold_columns_and_no_assistant(store_with_gold_run, tmp_path):
    shot, dom = tmp_path / "runs.png", tmp_path / "runs.html"
    done = run_script("--store", store_with_gold_run, "--out", str(shot), "--dom", str(dom))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{shot}: runs page of experiment 'paper-areas', 1600x900\n"
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (1600, 900)
    html = dom.read_text()
    for header in ("Run Name", "Created", "Duration", "gold.end_model.accuracy", "gold.end_model.macro_f1"):
        assert f'data-testid="sort-header-{header}"' in html, header
    assert ">Models</span>" in html
    assert "Source" not in html, "the Source column is still shown"
    assert "Ask a question" not in html, "the MLflow Assistant panel is open"
    assert list(tmp_path.glob(".*partial")) == []


def test_missing_store_is_refused_in_one_line(tmp_path):
    shot = tmp_path / "runs.png"
    done = run_script("--store", f"sqlite:///{tmp_path}/absent.db", "--out", str(shot))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: --store: {tmp_path}/absent.db: no such file\n"
    assert not shot.exists()
