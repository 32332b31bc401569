"""MLflow store set-up and the champion rule, on a real temporary SQLite store."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tracking import connect, register_and_promote, resolve_tracking_uri


class Constant(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"area": ["x"] * len(model_input)})


@pytest.fixture
def store(mlflow_store, monkeypatch) -> Path:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    connect("sqlite:///mlruns.db", "artifacts", "unit", mlflow_store)
    return mlflow_store


def log_and_register(gold_f1: float | None):
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=Constant(), pip_requirements=["mlflow"])
    return register_and_promote(info.model_uri, "clf", "champion", gold_f1)


def champion_version() -> str:
    return str(MlflowClient().get_model_version_by_alias("clf", "champion").version)


def test_relative_sqlite_store_lands_in_the_root(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri("sqlite:///mlruns.db", tmp_path) == f"sqlite:///{tmp_path}/mlruns.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/x.db")
    assert resolve_tracking_uri("sqlite:///mlruns.db", tmp_path) == "sqlite:////elsewhere/x.db"


def test_file_stores_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(ValueError, match="mlflow.tracking_uri"):
        resolve_tracking_uri("./mlruns", tmp_path)


def test_experiment_artifacts_go_to_the_artifact_root(store):
    experiment = mlflow.get_experiment_by_name("unit")
    assert experiment.artifact_location == (store / "artifacts").resolve().as_uri()
    assert (store / "mlruns.db").exists()


def test_champion_moves_only_to_a_better_model(store):
    first = log_and_register(0.40)
    assert first.promoted and champion_version() == first.version == "1"
    worse = log_and_register(0.35)
    assert not worse.promoted and champion_version() == "1"
    assert worse.champion_version == "1"
    equal = log_and_register(0.40)
    assert not equal.promoted and champion_version() == "1"
    better = log_and_register(0.45)
    assert better.promoted and champion_version() == better.version == "4"
    assert MlflowClient().get_model_version("clf", "4").tags["gold_macro_f1"] == "0.450000"


def test_without_gold_only_the_first_model_becomes_champion(store):
    assert log_and_register(None).promoted
    second = log_and_register(None)
    assert not second.promoted and "no gold" in second.reason
    assert champion_version() == "1"
    assert log_and_register(0.1).promoted  # a measured model beats an unmeasured champion
