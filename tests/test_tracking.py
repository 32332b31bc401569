"""MLflow store set-up and the champion rule, on a real temporary SQLite store."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from paper_areas.tracking import (
    RegistryError,
    SourceScore,
    StoreError,
    champion_version,
    connect,
    mask_credentials,
    register_and_promote,
    require_model,
    resolve_tracking_uri,
    tracked_run,
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
    return subprocess.run([sys.executable, "-m", "paper_areas.tracking", *args], cwd=cwd, env=env, capture_output=True,
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


def test_python_m_tracking_takes_the_store_and_the_champion_from_a_config(store, tmp_path):
    log_and_register(0.4)  # `clf` version 1, the champion of the store
    config = tmp_path / "mine.yaml"
    config.write_text(f"dumps: [{REPO}/samples/0*.txt]\ntaxonomy: {REPO}/configs/taxonomies/iclr2025.yaml\n"
                      f"mlflow: {{tracking_uri: 'sqlite:///{store}/mlruns.db', registered_model: clf}}\n")
    uri = f"sqlite:///{store}/mlruns.db"
    assert run_tracking_module("--config", str(config), cwd=tmp_path, uri=None).stdout == f"{uri}\n"
    found = run_tracking_module("--config", str(config), "--model", cwd=tmp_path, uri=None)
    assert (found.returncode, found.stdout) == (0, f"{uri}\nmodels:/clf@champion\n")
    named = run_tracking_module("--config", str(config), "--model", "models:/clf/1", cwd=tmp_path, uri=None)
    assert named.stdout == f"{uri}\nmodels:/clf/1\n"
    elsewhere = f"sqlite:///{tmp_path}/other.db"  # MLFLOW_TRACKING_URI wins over the config, as for train.py
    assert run_tracking_module("--config", str(config), cwd=tmp_path, uri=elsewhere).stdout == f"{elsewhere}\n"
    default = run_tracking_module("--model", cwd=tmp_path, uri=uri)  # the default config's champion: another name
    assert default.returncode == 2 and default.stdout == ""
    assert default.stderr.startswith("error: model models:/paper-area-classifier@champion: not in the MLflow store")


def test_importing_the_tracking_store_sets_no_environment():
    code = ("import os; before = dict(os.environ); import paper_areas.tracking.store, paper_areas.tracking; "
            "print(sorted(set(os.environ.items()) ^ set(before.items())))")
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_DISABLE_TELEMETRY"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


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
    first = log_and_register(0.40, gold_fingerprint="gold-a")
    assert first.promoted and champion() == first.version == "1"
    worse = log_and_register(0.35, gold_fingerprint="gold-a")
    assert not worse.promoted and champion() == "1"
    assert worse.champion_version == "1"
    equal = log_and_register(0.40, gold_fingerprint="gold-a")
    assert not equal.promoted and champion() == "1"
    better = log_and_register(0.45, gold_fingerprint="gold-a")
    assert better.promoted and champion() == better.version == "4"
    assert MlflowClient().get_model_version("clf", "4").tags["gold_macro_f1"] == "0.450000"


def test_without_gold_only_the_first_model_becomes_champion(store):
    assert log_and_register(None).promoted
    second = log_and_register(None)
    assert not second.promoted and "no gold" in second.reason
    assert champion() == "1"


def test_a_model_is_promoted_only_on_a_comparison_that_happened(store):
    # Issue 26: a champion with no gold score was displaced by any measured model (a calibration fitted on gold of
    # one area among them), which then stuck, later models on other gold being "not compared".
    log_and_register(None)
    unscored = log_and_register(0.9, gold_fingerprint="gold-a")
    assert not unscored.promoted and champion() == "1" and unscored.champion_version == "1"
    assert unscored.reason == ("gold macro-F1 0.9000 not compared: the champion (v1) has no gold score; the champion "
                               "stays (move the alias by hand to promote this version)")
    assert unscored.summary_lines()[0] == f"model version: clf v2 (not promoted: {unscored.reason})"
    MlflowClient().set_registered_model_alias("clf", "champion", "2")  # by hand
    unknown_gold = log_and_register(0.95)  # scored on gold whose fingerprint is unknown: not the same gold
    assert not unknown_gold.promoted and champion() == "2"
    assert unknown_gold.reason.startswith("gold macro-F1 0.9500 not compared: the gold it is on has no fingerprint")
    assert log_and_register(0.91, gold_fingerprint="gold-a").promoted and champion() == "4"


def test_a_copy_of_the_champion_is_compared_with_it_as_scored_in_the_same_run(store):
    # A calibrated copy of a champion with no gold score: its source is scored on the same gold in the calibrating run,
    # so the comparison happens; answers as good as the source's promote it, worse ones (offsets fitted on gold that
    # misleads them) do not.
    log_and_register(None)
    worse = log_and_register(0.30, gold_fingerprint="gold-a", source=SourceScore("1", 0.35))
    assert not worse.promoted and champion() == "1"
    assert worse.reason == "gold macro-F1 0.3000 is below the champion (v1)'s 0.3500, its source, scored on the same " \
                           "gold in this run"
    same = log_and_register(0.35, gold_fingerprint="gold-a", source=SourceScore("1", 0.35))
    assert same.promoted and champion() == "3"
    # The source scored in the run is not the champion: the usual rule (v3's 0.35 on gold-a) decides.
    assert not log_and_register(0.34, gold_fingerprint="gold-a", source=SourceScore("1", 0.2)).promoted


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
    assert other_gold.reason == ("gold macro-F1 0.9000 not compared: it is on gold gold-b, the champion (v1)'s 0.4000 "
                                 "on gold gold-a; scores on different gold are not compared; the champion stays (move "
                                 "the alias by hand to promote this version)")
    same_gold = log_and_register(0.45, taxonomy="pwc", gold_fingerprint="gold-a")
    assert same_gold.promoted and champion() == "3"
    assert same_gold.reason == "gold macro-F1 0.4500 beats the champion's 0.4000 (v1)"


def test_a_champion_of_unknown_gold_is_not_compared_with(store):
    # Registered outside training, or before versions were tagged with the fingerprint of their gold papers and labels
    # (the papers' fingerprint its run logged does not tell the labels): its gold is unknown.
    log_and_register(0.40, run_params={"data.gold.fingerprint": "gold-a"})
    unknown = log_and_register(0.90, gold_fingerprint="gold-a")
    assert not unknown.promoted and champion() == "1"
    assert unknown.reason == ("gold macro-F1 0.9000 not compared: the champion (v1) records no gold fingerprint, "
                              "so its 0.4000 may be on other gold; the champion stays (move the alias by hand to "
                              "promote this version)")


def test_credentials_in_uris_are_masked(monkeypatch):
    assert mask_credentials("postgresql://admin:S3cretPass@host/db") == "postgresql://admin:***@host/db"
    assert mask_credentials("mysql://u:p@ss@h:3306/d?password=zz&x=1") == "mysql://u:***@h:3306/d?password=***&x=1"
    assert mask_credentials("https://ghp_token@example.org/store") == "https://***@example.org/store"
    for plain in ("sqlite:////work/mlruns.db", "http://127.0.0.1:5000", "http://h:5000/a@b"):
        assert mask_credentials(plain) == plain
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "ftp://admin:S3cretPass@host/db")
    with pytest.raises(StoreError, match=r"^MLFLOW_TRACKING_URI: 'ftp://admin:\*\*\*@host/db' is not a database"):
        resolve_tracking_uri()


def test_connect_uses_the_experiment_another_process_just_created(store, monkeypatch):
    # Issue 26: two first trainings at once; the second died with an IntegrityError creating the same experiment.
    created = MlflowClient().create_experiment("new-name")  # by the other process, after this one looked it up
    looked_up = []

    def not_there_the_first_time(name: str):
        looked_up.append(name)
        return None if len(looked_up) == 1 else MlflowClient().get_experiment_by_name(name)

    monkeypatch.setattr(mlflow, "get_experiment_by_name", not_there_the_first_time)
    assert connect("sqlite:///mlruns.db", "artifacts", "new-name", store) == created
    assert looked_up == ["new-name", "new-name"]


RACER = """
import sys, time
from pathlib import Path

import mlflow  # imported before both start, so that they connect at the same moment
from paper_areas.tracking import connect

Path(sys.argv[1]).touch()
while len(list(Path.cwd().glob("ready-*"))) < 2:
    time.sleep(0.001)
print(connect("sqlite:///store/mlruns.db", "artifacts", "new-name", Path.cwd()))
"""


@pytest.mark.slow
def test_two_first_trainings_set_up_one_new_store_at_once(tmp_path):
    # Issue 26: MLflow creates a new store's tables on first use; two processes doing it at once collided.
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"} | {"PYTHONPATH": str(REPO)}
    racers = [subprocess.Popen([sys.executable, "-c", RACER, f"ready-{i}"], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    outputs = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs[0][1][-1500:] + outputs[1][1][-1500:]
    assert [stdout for stdout, _ in outputs] == ["1\n", "1\n"]


KILLED = """
import os, signal, sys, tempfile

from paper_areas.tracking import tracked_run

with tracked_run(sys.argv[1], "killed") as run:
    folder = tempfile.mkdtemp()  # as MLflow copies the model a run logs
    print(run.info.run_id, folder, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_the_next_run_fails_the_run_of_a_killed_process_and_removes_its_temporaries(store):
    # Issue 26: a training killed during registration stayed RUNNING and left its temporary model copies.
    experiment_id = mlflow.get_experiment_by_name("unit").experiment_id
    env = os.environ | {"MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(), "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, "-c", KILLED, experiment_id], env=env, capture_output=True, text=True,
                            timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    run_id, temporary = killed.stdout.split()
    client = MlflowClient()
    assert client.get_run(run_id).info.status == "RUNNING" and Path(temporary).is_dir()
    with tracked_run(experiment_id, "alive") as alive:  # a run of this process, left RUNNING: it is not touched
        pass
    client.update_run(alive.info.run_id, status="RUNNING")
    with tracked_run(experiment_id, "next") as run:
        pass
    failed = client.get_run(run_id)
    assert failed.info.status == "FAILED" and failed.data.tags["error"].startswith("process ")
    assert not Path(temporary).exists() and not Path(temporary).parent.exists()
    assert client.get_run(alive.info.run_id).info.status == "RUNNING"
    tags = client.get_run(run.info.run_id).data.tags
    assert tags["process.pid"] == str(os.getpid()) and client.get_run(run.info.run_id).info.status == "FINISHED"
