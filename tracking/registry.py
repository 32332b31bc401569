"""Register each trained model and move the champion alias only to a better one."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

GOLD_TAG = "gold_macro_f1"


@dataclass(frozen=True)
class Registration:
    name: str
    version: str
    alias: str
    promoted: bool
    champion_version: str  # the version the alias points to after registration ("" when none)
    reason: str


def _champion(client: MlflowClient, name: str, alias: str):
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _decide(new_f1: float | None, champion) -> tuple[bool, str]:
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
    champion = _champion(client, name, alias)
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
