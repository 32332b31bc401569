"""Issue 27: a logged model loads and predicts from its MLflow artifacts alone, and a Spark worker runs from the
shipped code alone. Each check runs in a Python that cannot see the project: `python -S` (no `.pth` files, so
no editable finder) with only site-packages on PYTHONPATH, in a folder outside the repo."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from importlib.metadata import packages_distributions
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from models.pyfunc import REQUIREMENTS
from paper_areas.core.shipping import SHIPPED
from tests.test_training import MODEL, gold_file, run_train_py  # noqa: F401  (gold_file: a fixture)

REPO = Path(__file__).resolve().parents[1]
SITE_PACKAGES = sysconfig.get_paths()["purelib"]
PAPERS = pd.DataFrame({"title": ["Diffusion models for protein design", "Adversarial robustness of LLMs"],
                       "abstract": ["We generate proteins with a diffusion model.", "We attack language models."]})

LOAD_AND_PREDICT = """
import importlib.util, json, sys
import pandas as pd
assert importlib.util.find_spec("labeling") is None, "the project is importable before loading the model"
import mlflow
papers = pd.DataFrame(json.loads(sys.argv[1]))
for uri in sys.argv[2:]:
    model = mlflow.pyfunc.load_model(uri)
    rows, served = model.predict(papers), model.unwrap_python_model().classifier
    print(json.dumps({"rows": rows.to_dict(orient="list"),
                      "teacher": "TaughtClassifier" in {type(served).__name__, type(served.model).__name__},
                      "code": [sys.modules[name].__file__ for name in ("labeling", "models", "paper_areas")]}))
"""


def test_the_logged_requirements_name_every_distribution_the_shipped_code_imports():
    imported = set()
    for entry in SHIPPED:
        for path in [REPO / entry] if entry.endswith(".py") else (REPO / entry).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"labeling", "models", "paper_areas"}
    distributions = packages_distributions()
    unlisted = {module: distributions.get(module) for module in third_party
                if not set(distributions.get(module, [])) & set(REQUIREMENTS)}
    assert third_party >= {"torch", "snorkel", "pydantic"}  # the scan sees the shipped code's imports
    assert unlisted == {"pyspark": ["pyspark"]}  # only the Spark engine's optional extra, never used by a model


def without_the_project(tmp_path: Path) -> dict[str, str]:
    """The environment of a Python started with -S: site-packages only, none of the project's paths or finders."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = SITE_PACKAGES
    env["HOME"] = str(tmp_path)
    return env


def load_and_predict(model_uris: list[str], tracking_uri: str, tmp_path: Path) -> list[dict]:
    """Per model: its predictions for PAPERS and where `labeling`, `models` and `paper_areas` were imported from,
    in one Python that cannot see the project."""
    env = without_the_project(tmp_path) | {"MLFLOW_TRACKING_URI": tracking_uri}
    done = subprocess.run([sys.executable, "-S", "-c", LOAD_AND_PREDICT, PAPERS.to_json(orient="columns"),
                           *model_uris], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()[-len(model_uris):]]


@pytest.mark.slow
def test_a_model_logged_by_train_py_and_by_calibrate_loads_from_its_artifacts_alone(mlflow_store, gold_file,  # noqa: F811
                                                                                    tmp_path):
    tracking_uri = f"sqlite:///{mlflow_store}/mlruns.db"
    config = tmp_path / "tfidf.yaml"
    config.write_text(f"dumps: [{REPO}/samples/0*.txt]\ntaxonomy: {REPO}/configs/taxonomies/iclr2025.yaml\n"
                      "label_model: {epochs: 20, embedding_lfs: false}\n"
                      "end_model: {kind: tfidf, average_with: [], teacher_weight: 0.5}\n"
                      f"mlflow: {{tracking_uri: '{tracking_uri}', artifact_root: {mlflow_store}/artifacts, "
                      "champion_alias: best}\n")
    trained = run_train_py("--config", str(config))  # the store and the alias are the config's
    assert trained.returncode == 0, trained.stderr[-2000:]
    calibrated = run_train_py("calibrate", "--model", f"models:/{MODEL}@best", "--gold", str(gold_file),
                              "--config", str(config))
    assert calibrated.returncode == 0, calibrated.stderr[-2000:]
    assert "(promoted: " in calibrated.stderr
    assert str(mlflow.MlflowClient(tracking_uri).get_model_version_by_alias(MODEL, "best").version) == "2"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    uris = [f"models:/{MODEL}/1", f"models:/{MODEL}/2"]  # as trained, and calibrated
    for uri, loaded in zip(uris, load_and_predict(uris, tracking_uri, outside), strict=True):
        assert loaded["code"] and all(REPO not in Path(path).parents for path in loaded["code"]), loaded["code"]
        assert loaded["teacher"], uri  # the served model keeps its teacher (keyword LFs and labeller) out there too
        expected = mlflow.pyfunc.load_model(uri).predict(PAPERS)  # here, with the project installed
        assert loaded["rows"]["area"] == expected["area"].tolist()
        assert loaded["rows"]["confidence"] == pytest.approx(expected["confidence"].tolist())


SPARK_DRIVER = """
import sys
import pandas as pd
import paper_areas.core.shipping as shipping
from labeling import keyword_lfs, load_taxonomy
from labeling.spark import apply_lfs_spark, spark_session
lfs = keyword_lfs(load_taxonomy(sys.argv[1]))
frame = pd.DataFrame({"title": ["Diffusion models for protein design"], "abstract": ["A graph neural network."]})
everything = shipping.SHIPPED
shipping.SHIPPED = tuple(entry for entry in everything if entry != "labeling")
try:  # the control: a worker that is not shipped labeling/ cannot run
    apply_lfs_spark(lfs, frame)
except Exception as error:
    print("without labeling/:", "No module named 'labeling'" in str(error))
spark_session().stop()
shipping.SHIPPED = everything
print("votes", int((apply_lfs_spark(lfs, frame) >= 0).sum()))
spark_session().stop()
"""


@pytest.mark.spark
@pytest.mark.slow
def test_a_spark_worker_runs_from_the_shipped_code_alone(tmp_path):
    pytest.importorskip("pyspark")
    worker = tmp_path / "worker-python"
    worker.write_text(f'#!/bin/sh\nPYTHONPATH="$PYTHONPATH:{SITE_PACKAGES}" exec {sys.executable} -S "$@"\n')
    worker.chmod(0o755)
    env = os.environ | {"PYSPARK_PYTHON": str(worker)}
    done = subprocess.run([sys.executable, "-c", SPARK_DRIVER, str(REPO / "configs/taxonomies/iclr2025.yaml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    control, votes = done.stdout.splitlines()[-2:]
    assert control == "without labeling/: True"
    assert votes.startswith("votes ") and int(votes.split()[1]) > 0
