"""Spark: the label matrix on partitions equals the local one; the Spark engine predicts what the local one does."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling import apply_lfs, keyword_lfs, load_taxonomy
from paper_areas.dumps import papers_frame, read_dumps
from paper_areas.prediction import predict_dumps

pytestmark = pytest.mark.spark
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every Spark test (the JVM takes seconds to start)."""
    pytest.importorskip("pyspark")
    from labeling.spark import spark_session

    session = spark_session()
    yield session
    session.stop()


def test_label_matrix_on_spark_equals_the_local_one(spark, sample_dumps):
    from labeling.spark import apply_lfs_spark

    frame = papers_frame(read_dumps(sample_dumps))
    frame.loc[3, "title"] = None  # missing values are empty texts in both
    lfs = keyword_lfs(load_taxonomy(REPO / "configs" / "taxonomies" / "iclr2025.yaml"))
    local = apply_lfs(lfs, frame)
    on_spark = apply_lfs_spark(lfs, frame)
    assert on_spark.shape == local.shape and (local != -1).any()
    np.testing.assert_array_equal(on_spark, local)


@pytest.mark.parametrize("store, explain", [("tfidf_registry", False), ("taught_registry", True)])
def test_spark_engine_predicts_the_same_areas_as_the_local_engine(spark, store, explain, sample_dumps, tmp_path,
                                                                  monkeypatch, request):
    # the model is the champion of a trained store; with its teacher, asked for the evidence
    monkeypatch.setenv("MLFLOW_TRACKING_URI", request.getfixturevalue(store))
    outputs = {}
    for engine in ("local", "spark"):
        output = tmp_path / f"{engine}.jsonl"
        predict_dumps(sample_dumps, output, engine=engine, batch_size=64, stream=io.StringIO(), explain=explain)
        outputs[engine] = pd.read_json(output, lines=True, dtype={"id": str})
    local, on_spark = outputs["local"], outputs["spark"]
    assert len(local) == len({paper.id for paper in read_dumps(sample_dumps)})
    assert on_spark["id"].tolist() == local["id"].tolist()
    assert on_spark["area"].tolist() == local["area"].tolist()
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False)
    assert ("evidence" in local) == explain and (not explain or local["evidence"].str.len().gt(0).any())


def test_the_spark_engine_without_pyspark_is_one_line_naming_the_extra(keyword_model, tmp_path):
    source = tmp_path / "dump.jsonl"
    source.write_text('{"title": "Graph networks", "abstract": "Nodes."}\n')
    output = tmp_path / "predictions.jsonl"
    code = ("import runpy, sys; sys.modules['pyspark'] = None; sys.argv[0] = 'predict.py'; "  # as if not installed
            "runpy.run_path('predict.py', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code, "--input", str(source), "--output", str(output), "--model",
                           str(keyword_model), "--engine", "spark"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["error: the Spark engine needs pyspark: pip install -e '.[spark]'"]
    assert not output.exists()


def test_probabilistic_labels_on_spark_equal_the_local_ones(spark, sample_dumps):
    from labeling import LabelModelLabeler
    from labeling.spark import predict_proba_spark

    lfs = keyword_lfs(load_taxonomy(REPO / "configs" / "taxonomies" / "iclr2025.yaml"))
    votes = apply_lfs(lfs, papers_frame(read_dumps(sample_dumps)))
    labeler = LabelModelLabeler(cardinality=21, epochs=20).fit(votes)
    local = labeler.predict_proba(votes)
    on_spark = predict_proba_spark(labeler, votes)
    assert on_spark.shape == local.shape == (446, 21)
    np.testing.assert_allclose(on_spark, local, rtol=0, atol=1e-12)


def test_training_with_the_spark_engine_samples_and_registers(spark, mlflow_store):
    from mlflow.tracking import MlflowClient

    from paper_areas.pipeline.training import train
    from tests.test_training import make_config

    config = make_config(mlflow_store, kind="tfidf", max_papers=200)
    config.engine = "spark"
    result = train(config)
    run = MlflowClient().get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.data.params["engine"] == "spark"
    assert run.data.metrics["data.papers_read"] == 446 and run.data.metrics["data.papers_sampled"] == 200
    assert result.registration.version == "1"


def test_a_spark_session_prints_none_of_sparks_own_log_lines():
    """A new session in a fresh process: no log4j profile notice, no WARN of Spark's, no log-level notice."""
    pytest.importorskip("pyspark")
    code = "from labeling.spark import spark_session; s = spark_session(); print(s.range(3).count()); s.stop()"
    environment = {key: value for key, value in os.environ.items() if key not in ("SPARK_CONF_DIR", "SPARK_LOCAL_IP")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environment, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3\n"
    # what is left is the JVM's own notice of the incubator module Spark 4 loads, which no log setting reaches
    assert [line for line in done.stderr.splitlines() if "jdk.incubator.vector" not in line] == []
