"""MLflow pyfunc wrapper: a saved end model that maps `title`/`abstract` rows to areas and probabilities."""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types.schema import ColSpec, Schema

import evaluation
from models.base import ProbabilisticClassifier, read_config
from models.minilm import MiniLMClassifier
from models.tfidf import TfidfClassifier

CLASSIFIER_ARTIFACT = "classifier"
SAVED_KINDS: dict[str, type] = {"minilm": MiniLMClassifier, "tfidf": TfidfClassifier}
REQUIREMENTS = (
    "mlflow",
    "torch",
    "transformers",
    "safetensors",
    "onnx",
    "onnxruntime",
    "scikit-learn",
    "pandas",
    "numpy",
    "tqdm",
)
INPUT_EXAMPLE = pd.DataFrame(
    {
        "title": ["Contrastive pretraining of protein language models", "Faster diffusion sampling"],
        "abstract": ["We pretrain a transformer on protein sequences with a contrastive objective.", ""],
    }
)


def load_classifier(directory: str | Path) -> ProbabilisticClassifier:
    """Any classifier saved with its `save` method, by the kind in its config."""
    kind, _, _ = read_config(directory)
    if kind not in SAVED_KINDS:
        raise ValueError(f"{directory}: unknown classifier kind {kind!r}")
    return SAVED_KINDS[kind].load(directory)


def area_frame(probabilities: np.ndarray, slugs: list[str], names: list[str]) -> pd.DataFrame:
    """Prediction table: area slug, area name, confidence (max probability) and one prob_<slug> per area."""
    best = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, dtype=int)
    frame = pd.DataFrame(
        {
            "area": np.asarray(slugs, dtype=object)[best],
            "area_name": np.asarray(names, dtype=object)[best],
            "confidence": probabilities.max(axis=1) if len(probabilities) else np.zeros(0),
        }
    )
    probability_columns = pd.DataFrame(probabilities, columns=[f"prob_{slug}" for slug in slugs])
    return pd.concat([frame, probability_columns], axis=1)


class PaperAreaModel(mlflow.pyfunc.PythonModel):
    """Pyfunc over a saved end model; input columns `title` and `abstract` (either may be absent or empty)."""

    def __init__(self, slugs: list[str], names: list[str]):
        if len(slugs) != len(names):
            raise ValueError(f"{len(slugs)} area slugs but {len(names)} names")
        self.slugs, self.names = list(slugs), list(names)

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.classifier = load_classifier(context.artifacts[CLASSIFIER_ARTIFACT])

    def predict(
        self, context: mlflow.pyfunc.PythonModelContext, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        try:
            probabilities = self.classifier.predict_proba(model_input)
        except ValueError as error:
            raise MlflowException.invalid_parameter_value(f"bad input: {error}") from error
        return area_frame(probabilities, self.slugs, self.names)


def _signature(slugs: list[str]) -> ModelSignature:
    inputs = Schema([ColSpec("string", "title", required=False), ColSpec("string", "abstract", required=False)])
    outputs = Schema(
        [ColSpec("string", "area"), ColSpec("string", "area_name"), ColSpec("double", "confidence")]
        + [ColSpec("double", f"prob_{slug}") for slug in slugs]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def log_pyfunc_model(
    classifier: ProbabilisticClassifier,
    slugs: list[str],
    names: list[str],
    name: str = "model",
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log `classifier` as a pyfunc model in the active run (code and weights travel with it); maybe register."""
    python_model = PaperAreaModel(slugs, names)
    with tempfile.TemporaryDirectory() as tmp:
        saved = classifier.save(Path(tmp) / CLASSIFIER_ARTIFACT)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=python_model,
            artifacts={CLASSIFIER_ARTIFACT: str(saved)},
            code_paths=[str(Path(__file__).parent), str(Path(evaluation.__file__).parent)],
            signature=_signature(python_model.slugs),
            input_example=INPUT_EXAMPLE,
            pip_requirements=[f"{package}=={version(package)}" for package in REQUIREMENTS],
            registered_model_name=registered_model_name,
        )
