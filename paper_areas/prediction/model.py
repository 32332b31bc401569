"""Finding the model to predict with: a registry URI (the champion by default), a run URI or a local folder."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import mlflow
import yaml

from paper_areas.core import UserError
from paper_areas.pipeline.config import REPO, MlflowConfig
from paper_areas.tracking import DEFAULT_TRACKING_URI, champion_uri, load_failure, resolve_tracking_uri

_DEFAULTS = MlflowConfig()
DEFAULT_MODEL_URI = champion_uri(_DEFAULTS.registered_model, _DEFAULTS.champion_alias)
_STORE_SCHEMES = ("models:/", "runs:/")


class ModelError(UserError):
    """The model cannot be found or loaded; the message is one line naming the URI."""


def check_mlmodel(uri: str, path: Path) -> None:
    """Raise ModelError naming the file (and line) when the MLmodel file at `path` is not a YAML mapping."""
    try:
        fields = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ModelError(f"model {uri}: {where}: malformed MLmodel file ({problem})") from None
    if not isinstance(fields, dict):
        raise ModelError(f"model {uri}: {path}: malformed MLmodel file (not a mapping of fields)")


def resolve_model_uri(uri: str, tracking_uri: str = DEFAULT_TRACKING_URI) -> str:
    """`uri` as MLflow loads it; a registry or run URI also points MLflow at the store of `tracking_uri` (a config's
    `mlflow.tracking_uri`; MLFLOW_TRACKING_URI wins)."""
    if ":/" in uri and not uri.startswith(_STORE_SCHEMES):
        return uri  # another MLflow URI scheme (file:, s3:, ...)
    if not uri.startswith(_STORE_SCHEMES):
        path = Path(uri).expanduser()
        if not (path / "MLmodel").is_file():
            raise ModelError(f"model {uri}: not an MLflow model folder (no MLmodel file there)")
        check_mlmodel(uri, path / "MLmodel")
        return str(path.resolve())
    store = resolve_tracking_uri(tracking_uri, REPO)
    database = store.removeprefix("sqlite:///")
    if store.startswith("sqlite:///") and not Path(database).is_file():
        raise ModelError(f"model {uri}: no MLflow store at {database} (train a model first: make train)")
    mlflow.set_tracking_uri(store)
    return uri


def load_model(uri: str = DEFAULT_MODEL_URI, tracking_uri: str = DEFAULT_TRACKING_URI) -> mlflow.pyfunc.PyFuncModel:
    """The pyfunc model at `uri` (a registry or run URI in the store of `tracking_uri`); a missing model, unknown
    alias or broken folder raises ModelError. A model at another URI scheme (http:, s3:, ...) is downloaded to a
    temporary folder removed when loading fails or the process exits."""
    resolved = resolve_model_uri(uri, tracking_uri)
    remote = ":/" in resolved and not resolved.startswith((*_STORE_SCHEMES, "file:"))
    download = tempfile.mkdtemp(prefix="paper-areas-model-") if remote else None
    try:
        model = mlflow.pyfunc.load_model(resolved, dst_path=download)
    except Exception as error:  # whatever the folder or URI holds that MLflow cannot load is the user's to fix
        if download:
            shutil.rmtree(download, ignore_errors=True)
        raise ModelError(f"model {uri}: {load_failure(error)}") from None
    if download:
        atexit.register(shutil.rmtree, download, ignore_errors=True)
    return model
