"""The MLflow UI as users see it: docs/screenshot_runs.py (the README's screenshot) over a store with a finished
gold run, a real mlflow server and headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from labeling import load_taxonomy
from paper_areas.dumps import papers_frame, read_dumps
from paper_areas.pipeline.config import REPO, load_config
from paper_areas.pipeline.training import train

SCRIPT = REPO / "docs" / "screenshot_runs.py"


def chromium() -> str:
    """Debian's chromium, which `make test` installs (a test installs nothing)."""
    found = shutil.which("chromium")
    assert found, "no chromium on PATH: `make test` (or `make setup`) installs Debian's chromium"
    return found


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def gold_run(mlflow_store: Path, sample_dumps: list[Path]):
    """The store URI and the result of one quick TF-IDF training with gold, so that the run has the gold metrics.
    The gold is sample papers with arbitrary areas: the test looks at the columns, not at the scores."""
    names = load_taxonomy(REPO / "configs/taxonomies/iclr2025.yaml").names
    papers = papers_frame(read_dumps(sample_dumps[:1]))
    gold = mlflow_store / "gold.jsonl"
    rows = papers[["title", "abstract"]].to_dict("records")
    gold.write_text("".join(json.dumps({**row, "label": names[i % len(names)]}) + "\n" for i, row in enumerate(rows)))
    uri = f"sqlite:///{mlflow_store}/mlruns.db"
    result = train(load_config(None, {
        "gold": str(gold), "label_model": {"epochs": 10, "embedding_lfs": False},
        "end_model": {"kind": "tfidf", "calibration": "none", "class_offsets": False},  # too few gold papers to fit
        "mlflow": {"tracking_uri": uri, "artifact_root": str(mlflow_store / "artifacts")},
    }))
    return uri, result


@pytest.mark.browser
def test_the_runs_page_shows_the_run_with_its_gold_columns_and_no_assistant(gold_run, tmp_path):
    uri, result = gold_run
    run = MlflowClient(uri).get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "tfidf+teacher-iclr2025"
    assert {"labels.coverage", "gold.end_model.accuracy", "gold.end_model.macro_f1"} <= set(run.data.metrics)
    assert MlflowClient(uri).get_model_version_by_alias("paper-area-classifier", "champion").run_id == result.run_id

    shot, dom = tmp_path / "runs.png", tmp_path / "runs.html"
    done = run_script("--store", uri, "--out", str(shot), "--dom", str(dom), "--chromium", chromium())
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{shot}: runs page of experiment 'paper-areas', 1600x900\n"
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")) == (1600, 900)
    assert len(png) > 30_000, "the screenshot is (nearly) blank"
    html = dom.read_text()
    assert "tfidf+teacher-iclr2025" in html, "the run's name is not on the runs page"
    for header in ("Run Name", "Created", "Duration", "gold.end_model.accuracy", "gold.end_model.macro_f1"):
        assert f'data-testid="sort-header-{header}"' in html, header
    assert ">Models</span>" in html
    assert "Source" not in html, "the Source column is still shown"
    assert "Ask a question" not in html, "the MLflow Assistant panel is open"
    assert list(tmp_path.glob(".*")) == []  # no temporary left (they are hidden files beside the output)


def test_a_missing_store_is_refused_in_one_line(tmp_path):
    shot = tmp_path / "runs.png"
    done = run_script("--store", f"sqlite:///{tmp_path}/absent.db", "--out", str(shot))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"error: --store: {tmp_path}/absent.db: no such file\n"
    assert not shot.exists()
