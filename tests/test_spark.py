"""Spark: the label matrix on partitions equals the local one; the Spark engine predicts what the local one does."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dumps import papers_frame, read_dumps
from labeling import apply_lfs, keyword_lfs, load_taxonomy
from prediction import predict_dumps

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


def test_spark_engine_predicts_the_same_areas_as_the_local_engine(spark, tfidf_registry, sample_dumps, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tfidf_registry)  # the model is the champion of a trained store
    outputs = {}
    for engine in ("local", "spark"):
        output = tmp_path / f"{engine}.jsonl"
        predict_dumps(sample_dumps, output, engine=engine, batch_size=64,
                      stream=io.StringIO())
        outputs[engine] = pd.read_json(output, lines=True, dtype={"id": str})
    local, on_spark = outputs["local"], outputs["spark"]
    assert len(local) == len({paper.id for paper in read_dumps(sample_dumps)})
    assert on_spark["id"].tolist() == local["id"].tolist()
    assert on_spark["area"].tolist() == local["area"].tolist()
    pd.testing.assert_frame_equal(on_spark, local, check_exact=False)
