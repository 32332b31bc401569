"""Spark: a session bound to this machine with the project's code shipped to the workers; the label matrix and the
label model's probabilistic labels computed on Spark partitions."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from labeling.applier import apply_lfs
from labeling.label_model import Labeler
from labeling.lfs import ABSTAIN, KeywordLF
from paper_areas.core.shipping import ship_code

LOCAL_MASTER = "local[*]"
# Driver heap unless SPARK_DRIVER_MEMORY says otherwise: in local mode the driver runs every task, and Spark's 1g
# default ran out of heap turning a 1M-paper corpus into a DataFrame.
DRIVER_MEMORY = "8g"
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")  # Spark's driver logs errors only


def spark_session(master: str | None = None):  # -> pyspark.sql.SparkSession (pyspark is an optional extra)
    """The Spark session on `master` (default `local[*]`) with the code shipped; Spark's driver logs only errors
    (`LOG_CONFIG`) unless SPARK_CONF_DIR names a Spark configuration of the user's."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # where the driver binds (else Spark warns of loopback)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    if "SPARK_CONF_DIR" not in os.environ:
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}")
    spark = (
        builder.master(master or LOCAL_MASTER)
        .appName("paper-areas")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", DRIVER_MEMORY))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    _ship_code(spark)
    return spark


def _ship_code(spark) -> None:
    """Zip the packages the Python workers import and add the zip to the session (once per session)."""
    context = spark.sparkContext
    if getattr(context, "_paper_areas_zip", None):
        return
    folder = Path(tempfile.mkdtemp(prefix="paper-areas-spark-"))
    ship_code(folder / "code")
    archive = shutil.make_archive(str(folder / "paper_areas_code"), "zip", folder / "code")
    context.addPyFile(archive)
    context._paper_areas_zip = archive
    # addPyFile also puts the zip on the driver's sys.path; the driver keeps importing the real files
    sys.path[:] = [entry for entry in sys.path if not entry.endswith(Path(archive).name)]


def _map_rows(inputs: pd.DataFrame, compute: Callable[[pd.DataFrame], np.ndarray], element: str,
              fill: float, master: str | None) -> np.ndarray:
    """(len(inputs), W) array of `compute` run on Spark partitions of `inputs` (each batch -> (rows, W) array of
    `element`s), reassembled in row order; rows no batch returned are `fill` (W is known from the first batch)."""
    spark = spark_session(master)
    rows = spark.createDataFrame(inputs.assign(row=np.arange(len(inputs), dtype=np.int64)))
    rows = rows.coalesce(spark.sparkContext.defaultParallelism)  # a task per core

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield pd.DataFrame({"row": batch["row"].to_numpy(), "values": list(compute(batch.drop(columns="row")))})

    result = rows.mapInPandas(run, schema=f"row long, values array<{element}>").toPandas()
    if not len(result):
        return np.zeros((len(inputs), 0))
    values = np.stack(result["values"].to_numpy())
    output = np.full((len(inputs), values.shape[1]), fill, dtype=values.dtype)
    output[result["row"].to_numpy()] = values
    return output


def apply_lfs_spark(lfs: Sequence[KeywordLF], frame: pd.DataFrame, master: str | None = None) -> np.ndarray:
    """The same (N, M) label matrix as `apply_lfs`, built by `apply_lfs` on each Spark partition, in row order."""
    lfs = list(lfs)
    texts = pd.DataFrame({column: frame[column].fillna("").astype(str).to_numpy() for column in ("title", "abstract")})
    votes = _map_rows(texts, lambda batch: apply_lfs(lfs, batch).astype(np.int32), "int", ABSTAIN, master)
    return votes.astype(np.int64) if votes.shape[1] else np.full((len(frame), len(lfs)), ABSTAIN, dtype=np.int64)


def predict_proba_spark(labeler: Labeler, L: np.ndarray, master: str | None = None) -> np.ndarray:
    """The same (N, K) probabilistic labels as `labeler.predict_proba(L)`, computed on Spark partitions."""
    votes = pd.DataFrame({"votes": list(np.asarray(L, dtype=np.int32))})
    proba = _map_rows(votes, lambda batch: labeler.predict_proba(np.stack(batch["votes"].to_numpy())), "double",
                      np.nan, master)
    return proba if proba.shape[1] else np.zeros((len(L), labeler.cardinality))
