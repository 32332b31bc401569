"""Register each trained model and move the champion alias only to a better one."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from cli import UserError
from tracking.store import sqlite_path

GOLD_TAG = "gold_macro_f1"


@dataclass(frozen=True)
class Registration:
    name: str
    version: str
    alias: str
    promoted: bool
    champion_version: str  # the version the alias points to after registration ("" when none)
    reason: str


class RegistryError(UserError):
    """The model registry cannot be read, or the model asked for is not in it; one line naming store and model."""


def _first_line(error: MlflowException) -> str:
    return (error.message or type(error).__name__).strip().splitlines()[0]


def champion_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version `alias` points to; None only when the alias is not set. A store error raises RegistryError."""
    try:
        aliases = client.get_registered_model(name).aliases
        return client.get_model_version(name, aliases[alias]) if alias in aliases else None
    except MlflowException as error:
        raise RegistryError(f"cannot read alias {alias!r} of model {name!r} from the MLflow store "
                            f"{client.tracking_uri}: {_first_line(error)}") from None


def require_model(tracking_uri: str, model_uri: str) -> None:
    """Raise RegistryError unless the store exists and `model_uri` (models:/NAME@ALIAS or models:/NAME/VERSION)
    resolves in it; never creates a store."""
    database = sqlite_path(tracking_uri)
    if database is not None and not database.is_file():
        raise RegistryError(f"no MLflow store at {database} (train a model first: make train)")
    name, _, version = model_uri.removeprefix("models:/").partition("/")
    name, _, alias = name.partition("@")
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        registered = client.search_registered_models(filter_string=f"name = '{name}'")
        found = bool(registered) and (alias in registered[0].aliases if alias
                                      else bool(client.get_model_version(name, version)))
    except MlflowException as error:
        raise RegistryError(f"model {model_uri}: {_first_line(error)} (store {tracking_uri})") from None
    if not found:
        raise RegistryError(f"model {model_uri}: not in the MLflow store {tracking_uri} (train a model first: "
                            "make train)")


def _decide(new_f1: float | None, champion: ModelVersion | None) -> tuple[bool, str]:
    if champion is None:
        return True, "no champion yet"
    if new_f1 is None:
        return False, "no gold given: the champion stays"
    old = champion.tags.get(GOLD_TAG)
    if old is None:
        return True, f"gold macro-F1 {new_f1:.4f}; the champion (v{champion.version}) has no gold score"
    if new_f1 > float(old):
        return True, f"gold macro-F1 {new_f1:.4f} beats the champion's {float(old):.4f} (v{champion.version})"
    return False, f"gold macro-F1 {new_f1:.4f} does not beat the champion's {float(old):.4f} (v{champion.version})"


def register_and_promote(model_uri: str, name: str, alias: str, gold_macro_f1: float | None,
                         tags: dict[str, str] | None = None) -> Registration:
    """Register `model_uri` as a new version of `name`; point `alias` at it when it is the better model."""
    client = MlflowClient()
    version_tags = dict(tags or {})
    if gold_macro_f1 is not None:
        version_tags[GOLD_TAG] = f"{gold_macro_f1:.6f}"
    version = mlflow.register_model(model_uri, name, tags=version_tags).version
    champion = champion_version(client, name, alias)
    promoted, reason = _decide(gold_macro_f1, champion)
    if promoted:
        client.set_registered_model_alias(name, alias, version)
    return Registration(
        name=name,
        version=str(version),
        alias=alias,
        promoted=promoted,
        champion_version=str(version) if promoted else (str(champion.version) if champion else ""),
        reason=reason,
    )
