"""Finding the model to predict with: a registry URI (the champion by default), a run URI or a local folder."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from cli import UserError
from pipeline.config import REPO, MlflowConfig
from tracking import resolve_tracking_uri

DEFAULT_MODEL_URI = f"models:/{MlflowConfig.registered_model}@{MlflowConfig.champion_alias}"
_STORE_SCHEMES = ("models:/", "runs:/")


class ModelError(UserError):
    """The model cannot be found or loaded; the message is one line naming the URI."""


def resolve_model_uri(uri: str) -> str:
    """`uri` as MLflow loads it; a registry or run URI also points MLflow at the project's tracking store."""
    if ":/" in uri and not uri.startswith(_STORE_SCHEMES):
        return uri  # another MLflow URI scheme (file:, s3:, ...)
    if not uri.startswith(_STORE_SCHEMES):
        path = Path(uri).expanduser()
        if not (path / "MLmodel").is_file():
            raise ModelError(f"model {uri}: not an MLflow model folder (no MLmodel file there)")
        return str(path.resolve())
    tracking_uri = resolve_tracking_uri(MlflowConfig.tracking_uri, REPO)
    database = tracking_uri.removeprefix("sqlite:///")
    if tracking_uri.startswith("sqlite:///") and not Path(database).is_file():
        raise ModelError(f"model {uri}: no MLflow store at {database} (train a model first: make train)")
    mlflow.set_tracking_uri(tracking_uri)
    return uri


def load_model(uri: str = DEFAULT_MODEL_URI) -> mlflow.pyfunc.PyFuncModel:
    """The pyfunc model at `uri`; a missing model, unknown alias or broken folder raises ModelError."""
    resolved = resolve_model_uri(uri)
    try:
        return mlflow.pyfunc.load_model(resolved)
    except (MlflowException, OSError) as error:
        message = getattr(error, "message", None) or str(error)
        raise ModelError(f"model {uri}: {message.splitlines()[0] if message else type(error).__name__}") from None
