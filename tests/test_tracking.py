"""MLflow store set-up and the champion rule, on a real temporary SQLite store."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tracking import (
    RegistryError,
    StoreError,
    champion_version,
    connect,
    register_and_promote,
    require_model,
    resolve_tracking_uri,
)

REPO = Path(__file__).resolve().parents[1]


class Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"area": ["x"] * len(model_input)})


@pytest.fixture
def store(mlflow_store, monkeypatch) -> Path:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    connect("sqlite:///mlruns.db", "artifacts", "unit", mlflow_store)
    return mlflow_store


def log_and_register(gold_f1: float | None, run_params: dict[str, str] | None = None, **taxonomy_and_gold):
    with mlflow.start_run():
        mlflow.log_params(run_params or {})
        info = mlflow.pyfunc.log_model(name="model", python_model=Constant(), pip_requirements=["mlflow"])
    return register_and_promote(info.model_uri, "clf", "champion", gold_f1, **taxonomy_and_gold)


def champion() -> str:
    return str(MlflowClient().get_model_version_by_alias("clf", "champion").version)


def run_tracking_module(*args: str, cwd: Path, uri: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    if uri is not None:
        env["MLFLOW_TRACKING_URI"] = uri
    return subprocess.run([sys.executable, "-m", "tracking", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_store_is_the_variable_when_set_else_the_repos_mlruns_db(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == f"sqlite:///{REPO}/mlruns.db"
    assert resolve_tracking_uri("sqlite:///mlruns.db", tmp_path) == f"sqlite:///{tmp_path}/mlruns.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/x.db")
    assert resolve_tracking_uri("sqlite:///mlruns.db", tmp_path) == "sqlite:////elsewhere/x.db"
    monkeypatch.chdir(tmp_path)  # a relative path in the variable is taken from the working directory, as MLflow does
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///runs/x.db")
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path}/runs/x.db"


def test_python_m_tracking_prints_the_same_rule(tmp_path):
    assert run_tracking_module(cwd=tmp_path, uri=None).stdout == f"sqlite:///{REPO}/mlruns.db\n"
    assert run_tracking_module(cwd=tmp_path, uri="sqlite:///x.db").stdout == f"sqlite:///{tmp_path}/x.db\n"
    assert list(tmp_path.iterdir()) == []


def test_python_m_tracking_model_check_is_one_line_and_creates_no_store(tmp_path):
    done = run_tracking_module("--model", "models:/clf@champion", cwd=tmp_path, uri=f"sqlite:///{tmp_path}/no.db")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: no MLflow store at {tmp_path}/no.db (train a model first: make train)\n"
    assert list(tmp_path.iterdir()) == []


def test_file_stores_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(StoreError, match=r"^mlflow.tracking_uri: './mlruns' is not a database or server URI"):
        resolve_tracking_uri("./mlruns", tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "file:///tmp/mlruns")
    with pytest.raises(StoreError, match=r"^MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' is not a database"):
        resolve_tracking_uri("sqlite:///mlruns.db", tmp_path)


def test_experiment_artifacts_go_to_the_artifact_root(store):
    experiment = mlflow.get_experiment_by_name("unit")
    assert experiment.artifact_location == (store / "artifacts").resolve().as_uri()
    assert (store / "mlruns.db").exists()


def test_artifacts_go_beside_a_store_outside_the_repo(mlflow_store):
    repo_before = sorted(path.name for path in REPO.iterdir())
    experiment_id = connect("sqlite:///mlruns.db", "mlartifacts", "outside", REPO)  # MLFLOW_TRACKING_URI wins
    experiment = mlflow.get_experiment(experiment_id)
    assert experiment.artifact_location == (mlflow_store / "mlartifacts").as_uri()
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_text("x", "note.txt")
    assert len(list((mlflow_store / "mlartifacts").glob("*/artifacts/note.txt"))) == 1
    assert sorted(path.name for path in REPO.iterdir()) == repo_before


def test_only_a_missing_alias_means_no_champion(store):
    first = log_and_register(0.4)
    client = MlflowClient()
    assert str(champion_version(client, "clf", "champion").version) == first.version == "1"
    assert champion_version(client, "clf", "runner-up") is None
    require_model(mlflow.get_tracking_uri(), "models:/clf@champion")
    with pytest.raises(RegistryError, match=r"^model models:/clf@runner-up: not in the MLflow store sqlite:///"):
        require_model(mlflow.get_tracking_uri(), "models:/clf@runner-up")
    with sqlite3.connect(store / "mlruns.db") as database:  # a broken store: the alias table is gone
        database.execute("DROP TABLE registered_model_aliases")
    with pytest.raises(RegistryError, match=r"^cannot read alias 'champion' of model 'clf' from the MLflow store"):
        champion_version(client, "clf", "champion")


def test_champion_moves_only_to_a_better_model(store):
    first = log_and_register(0.40)
    assert first.promoted and champion() == first.version == "1"
    worse = log_and_register(0.35)
    assert not worse.promoted and champion() == "1"
    assert worse.champion_version == "1"
    equal = log_and_register(0.40)
    assert not equal.promoted and champion() == "1"
    better = log_and_register(0.45)
    assert better.promoted and champion() == better.version == "4"
    assert MlflowClient().get_model_version("clf", "4").tags["gold_macro_f1"] == "0.450000"


def test_without_gold_only_the_first_model_becomes_champion(store):
    assert log_and_register(None).promoted
    second = log_and_register(None)
    assert not second.promoted and "no gold" in second.reason
    assert champion() == "1"
    assert log_and_register(0.1).promoted  # a measured model beats an unmeasured champion


def test_a_model_of_another_taxonomy_never_becomes_the_champion(store, tmp_path):
    taxonomy_file = tmp_path / "pwc.yaml"
    taxonomy_file.write_text("name: pwc\n")
    first = log_and_register(0.40, taxonomy="iclr2025", gold_fingerprint="iclr-gold")
    other = log_and_register(0.90, taxonomy="pwc", taxonomy_file=taxonomy_file, gold_fingerprint="iclr-gold")
    assert first.promoted and not other.promoted and champion() == "1" and other.champion_version == "1"
    assert other.reason == ("taxonomy 'pwc' is not the champion (v1)'s 'iclr2025': a model never becomes the "
                            "champion of another taxonomy's model (give each taxonomy its own registered model)")
    tags = MlflowClient().get_model_version("clf", "2").tags
    assert tags["taxonomy"] == "pwc" and tags["gold_fingerprint"] == "iclr-gold"
    assert tags["taxonomy_digest"] == hashlib.sha256(b"name: pwc\n").hexdigest()[:16]
    assert log_and_register(0.45, taxonomy="iclr2025", gold_fingerprint="iclr-gold").promoted
    assert champion() == "3"


def test_macro_f1_is_compared_only_on_the_same_gold(store):
    log_and_register(0.40, taxonomy="pwc", gold_fingerprint="gold-a")
    other_gold = log_and_register(0.90, taxonomy="pwc", gold_fingerprint="gold-b")
    assert not other_gold.promoted and champion() == "1"
    assert other_gold.reason == ("gold macro-F1 0.9000 is on gold gold-b, the champion (v1)'s 0.4000 on gold gold-a: "
                                 "scores on different gold are not compared; the champion stays")
    same_gold = log_and_register(0.45, taxonomy="pwc", gold_fingerprint="gold-a")
    assert same_gold.promoted and champion() == "3"
    assert same_gold.reason == "gold macro-F1 0.4500 beats the champion's 0.4000 (v1)"


def test_the_gold_of_a_champion_registered_untagged_is_its_runs_gold_parameter(store):
    log_and_register(0.40, run_params={"data.gold.fingerprint": "gold-a"})  # before versions were tagged
    assert not log_and_register(0.90, gold_fingerprint="gold-b").promoted
    assert log_and_register(0.45, gold_fingerprint="gold-a").promoted and champion() == "3"


def test_a_champion_of_unknown_gold_is_not_compared_with(store):
    log_and_register(0.40)  # registered outside training: no gold fingerprint anywhere
    unknown = log_and_register(0.90, gold_fingerprint="gold-a")
    assert not unknown.promoted and champion() == "1"
    assert unknown.reason == ("gold macro-F1 0.9000 not compared: the champion (v1) records no gold fingerprint, "
                              "so its 0.4000 may be on other gold; the champion stays")
