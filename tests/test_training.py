"""train.py end to end on the bundled samples, into a real temporary MLflow store, with a tiny BERT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from labeling import load_taxonomy
from pipeline import training
from pipeline.config import REPO, load_config
from pipeline.training import train

MODEL = "paper-area-classifier"


def make_config(store: Path, **end_model):
    return load_config(None, {
        "label_model": {"epochs": 20},
        "end_model": {"epochs": 1, "max_length": 64, "batch_size": 16, **end_model},
        "mlflow": {"tracking_uri": f"sqlite:///{store}/mlruns.db", "artifact_root": str(store / "artifacts")},
    })


@pytest.fixture
def gold_file(tmp_path, sample_dumps) -> Path:
    """Thirty labelled papers: the conference listing's first entries with areas assigned in turn."""
    names = load_taxonomy(REPO / "configs/taxonomies/iclr2025.yaml").names
    lines = sample_dumps[3].read_text().splitlines()
    rows = [{"title": f"Gold paper {i}", "abstract": line, "label": names[i % len(names)]}
            for i, line in enumerate(sorted(lines, key=len)[-30:])]
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def champion() -> str:
    return str(MlflowClient().get_model_version_by_alias(MODEL, "champion").version)


def test_minilm_run_is_tracked_registered_and_loadable(mlflow_store, tiny_bert_dir, gold_file):
    config = make_config(mlflow_store, model_path=str(tiny_bert_dir))
    config.gold = str(gold_file)
    result = train(config)

    run = MlflowClient().get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["end_model.kind"] == "minilm"
    assert run.data.params["data.train.papers"] == "446"
    assert run.data.tags["git_commit"]
    for key in ("gold.end_model.accuracy", "gold.end_model.macro_f1", "gold.label_model.macro_f1",
                "gold.majority_vote.accuracy", "labels.coverage", "labels.papers_trained"):
        assert key in run.data.metrics, key
    history = MlflowClient().get_metric_history(result.run_id, "train_loss")
    assert [m.step for m in history] == [1]
    artifacts = {a.path for a in MlflowClient().list_artifacts(result.run_id, "labeling")}
    assert {"labeling/lf_table.csv", "labeling/lf_table_gold.csv", "labeling/label_distribution.png"} <= artifacts
    artifacts = {a.path for a in MlflowClient().list_artifacts(result.run_id, "evaluation")}
    assert {"evaluation/per_area_report.csv", "evaluation/confusion_matrix.png"} <= artifacts
    assert [a.path for a in MlflowClient().list_artifacts(result.run_id, "taxonomy")] == ["taxonomy/iclr2025.yaml"]
    assert len(run.inputs.dataset_inputs) == 2

    assert result.registration.version == "1" and result.registration.promoted
    assert champion() == "1"

    # A fresh process loads the champion from the registry alone and tags title-only and abstract-only papers.
    script = (
        "import mlflow, pandas as pd, json\n"
        f"m = mlflow.pyfunc.load_model('models:/{MODEL}@champion')\n"
        "out = m.predict(pd.DataFrame({'title': ['Diffusion models for images', ''],"
        " 'abstract': ['', 'We study policy gradient methods in reinforcement learning.']}))\n"
        "print(json.dumps(out.to_dict(orient='records')))\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{mlflow_store}/mlruns.db"}
    done = subprocess.run([sys.executable, "-c", script], cwd="/", env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    slugs = load_taxonomy(config.taxonomy).slugs
    assert len(rows) == 2
    for row in rows:
        assert row["area"] in slugs
        assert 0 < row["confidence"] <= 1
        assert abs(sum(row[f"prob_{slug}"] for slug in slugs) - 1) < 1e-4


def test_champion_rule_holds_both_ways(mlflow_store, gold_file):
    config = make_config(mlflow_store, kind="tfidf")
    config.gold = str(gold_file)
    first = train(config)
    assert first.registration.promoted and champion() == "1"

    same = train(config)  # the same deterministic model: equal macro-F1 does not beat the champion
    assert same.registration.version == "2" and not same.registration.promoted
    assert champion() == "1"

    MlflowClient().set_model_version_tag(MODEL, "1", "gold_macro_f1", "-1")  # make the champion beatable
    better = train(config)
    assert better.registration.promoted and champion() == "3"

    config.gold = None  # without gold a new model never displaces a champion
    assert not train(config).registration.promoted and champion() == "3"


def test_a_failure_mid_run_marks_it_failed_and_keeps_the_champion(mlflow_store, monkeypatch):
    config = make_config(mlflow_store, kind="tfidf")
    assert train(config).registration.promoted

    class Broken:
        def fit(self, *args, **kwargs):
            raise RuntimeError("disk full")

    monkeypatch.setattr(training, "build_end_model", lambda _config: Broken())
    with pytest.raises(RuntimeError, match="disk full"):
        train(config)
    runs = mlflow.search_runs(experiment_names=["paper-areas"], order_by=["start_time DESC"])
    assert list(runs["status"][:2]) == ["FAILED", "FINISHED"]
    assert champion() == "1"
    assert len(MlflowClient().search_model_versions(f"name='{MODEL}'")) == 1


def test_train_cli_prints_run_version_alias_and_next_steps(mlflow_store):
    config = mlflow_store / "quick.yaml"  # the default job with a shorter label-model fit
    config.write_text((REPO / "configs/default.yaml").read_text().replace("epochs: 100", "epochs: 20")
                      .replace("../samples/", f"{REPO}/samples/").replace("taxonomies/", f"{REPO}/configs/taxonomies/"))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{mlflow_store}/mlruns.db"}
    done = subprocess.run([sys.executable, "train.py", "--config", str(config), "--end-model", "tfidf",
                           "--experiment", "cli"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run id:" in done.stderr and "model version: paper-area-classifier v1" in done.stderr
    assert "champion -> v1" in done.stderr and "make ui" in done.stderr and "predict.py" in done.stderr


def test_train_cli_bad_config_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dumps: [x]\ntaxonomy: t.yaml\nend_model: {epoch: 3}\n")
    done = subprocess.run([sys.executable, "train.py", "--config", str(bad)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad}: end_model.epoch: unknown key (known: kind, model_path, epochs, " \
        "max_length, batch_size, learning_rate, seed)"


def test_evaluate_command_scores_a_registered_model(mlflow_store, gold_file, tmp_path):
    config = make_config(mlflow_store, kind="tfidf")
    train(config)
    out = tmp_path / "eval.json"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{mlflow_store}/mlruns.db"}
    done = subprocess.run([sys.executable, "train.py", "evaluate", "--model", f"models:/{MODEL}@champion",
                           "--gold", str(gold_file), "--json", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["n_papers"] == 30
    assert 0 <= figures["accuracy"] <= 1 and 0 <= figures["macro_f1"] <= 1
    assert "30 gold papers: accuracy" in done.stdout
    assert isinstance(pd.DataFrame(figures["per_area"]), pd.DataFrame)
