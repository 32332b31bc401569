"""Where the model runs: in this process (local) or on Spark through `mlflow.pyfunc.spark_udf`."""

from __future__ import annotations

import warnings

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from models.pyfunc import EVIDENCE_COLUMN, EXPLAIN_PARAM, NO_TEACHER
from paper_areas.core import UserError

INPUT_COLUMNS = ["title", "abstract"]
PROBE = pd.DataFrame({"title": ["probe"], "abstract": [""]})
SPARK_CHUNK = 100_000  # papers per Spark job: big enough to amortise the job start-up, small enough for memory


def prediction_params(model: mlflow.pyfunc.PyFuncModel, uri: str, explain: bool) -> dict | None:
    """The pyfunc parameters of a run: with `explain`, the one asking for the evidence column, which only a model
    with a teacher gives (UserError naming `uri` otherwise, before any paper is read)."""
    if not explain:
        return None
    params = {EXPLAIN_PARAM: True}
    try:
        with warnings.catch_warnings():  # a model logged before the parameter existed ignores it, and MLflow warns
            warnings.simplefilter("ignore")
            explains = EVIDENCE_COLUMN in model.predict(PROBE, params=params)
    except MlflowException as error:
        if error.get_http_status_code() != 400:
            raise
        explains = False
    if not explains:
        raise UserError(f"model {uri}: --explain: {NO_TEACHER}")
    return params


class LocalEngine:
    """Predicts chunks of `batch_size` papers with the model loaded in this process, with pyfunc `params`."""

    def __init__(self, model: mlflow.pyfunc.PyFuncModel, batch_size: int, params: dict | None = None) -> None:
        self.model, self.params = model, params
        self.chunk_size = batch_size

    def predict(self, papers: pd.DataFrame) -> pd.DataFrame:
        """The pyfunc output for a frame with `title` and `abstract`, one row a paper, in order; input the model
        refuses (such as a paper over its length cap, models.pyfunc.MAX_PAPER_CHARS) raises UserError naming it."""
        try:
            return self.model.predict(papers[INPUT_COLUMNS], params=self.params).reset_index(drop=True)
        except MlflowException as error:
            if error.get_http_status_code() != 400:
                raise
            raise UserError(f"the model refuses the papers from {papers['source'].iloc[0]} on: {error.message} "
                            "(rows counted from there)") from None


def result_schema(model: mlflow.pyfunc.PyFuncModel, params: dict | None) -> str:
    """The Spark DDL of the pyfunc's output columns with `params`, read off a one-paper prediction."""
    probe = model.predict(PROBE, params=params)
    types = ("double" if pd.api.types.is_float_dtype(dtype) else "bigint" if pd.api.types.is_integer_dtype(dtype)
             else "string" for dtype in probe.dtypes)
    return ", ".join(f"`{column}` {kind}" for column, kind in zip(probe.columns, types, strict=True))


def require_pyspark() -> None:
    """Raise UserError with the install command when pyspark (the `spark` extra) is not installed."""
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        raise UserError("the Spark engine needs pyspark: pip install -e '.[spark]'") from None


class SparkEngine:
    """Predicts chunks of papers as Spark DataFrames with the model as a `spark_udf` (`env_manager="local"`)."""

    def __init__(self, model: mlflow.pyfunc.PyFuncModel, model_uri: str, master: str | None, batch_size: int,
                 params: dict | None = None) -> None:
        from labeling.spark import spark_session  # Spark is an optional extra

        self.spark = spark_session(master)
        self.spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_size))
        self.udf = mlflow.pyfunc.spark_udf(self.spark, model_uri, result_type=result_schema(model, params),
                                           env_manager="local", params=params)
        self.chunk_size = max(batch_size, SPARK_CHUNK)

    def predict(self, papers: pd.DataFrame) -> pd.DataFrame:
        """The same rows as `LocalEngine.predict`, computed on the Spark cluster."""
        from pyspark.sql.functions import struct

        rows = papers[INPUT_COLUMNS].fillna("").assign(row=np.arange(len(papers), dtype=np.int64))
        # Arrow slices the local data into batches of maxRecordsPerBatch: one task per core instead
        frame = self.spark.createDataFrame(rows).coalesce(self.spark.sparkContext.defaultParallelism)
        # one struct argument reaches the pyfunc as a frame with these column names (the model has no input schema)
        papers_struct = struct(*INPUT_COLUMNS)
        predicted = frame.select("row", self.udf(papers_struct).alias("predicted")).select("row", "predicted.*")
        return predicted.toPandas().sort_values("row").drop(columns="row").reset_index(drop=True)
