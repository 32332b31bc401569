"""Register each trained model and move the champion alias only to a better one of the same taxonomy and gold."""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from paper_areas.core import UserError
from paper_areas.tracking.store import mask_credentials, sqlite_path

GOLD_TAG = "gold_macro_f1"
GOLD_FINGERPRINT_TAG = "gold_fingerprint"
TAXONOMY_TAG = "taxonomy"
TAXONOMY_DIGEST_TAG = "taxonomy_digest"


@dataclass(frozen=True)
class Registration:
    name: str
    version: str
    alias: str
    promoted: bool
    champion_version: str  # the version the alias points to after registration ("" when none)
    reason: str

    def summary_lines(self) -> list[str]:
        """What a command that registered a model prints: the new version, whether promoted and why, the alias."""
        return [f"model version: {self.name} v{self.version} "
                f"({'promoted' if self.promoted else 'not promoted'}: {self.reason})",
                f"alias:         {self.alias} -> v{self.champion_version}"]


@dataclass(frozen=True)
class SourceScore:
    """The registered version a new one was made from (a calibrated copy's source) and its gold macro-F1 on the same
    gold in the same run: when that version is the champion, the two are compared directly."""

    version: str
    macro_f1: float


class RegistryError(UserError):
    """The model registry cannot be read, or the model asked for is not in it; one line naming store and model."""


def _first_line(error: MlflowException) -> str:
    """The first line of MLflow's message, credentials of URIs in it masked."""
    return mask_credentials((error.message or type(error).__name__).strip().splitlines()[0])


def load_failure(error: Exception) -> str:
    """One line saying why MLflow could not load a model (credentials of URIs in it masked)."""
    if isinstance(error, ModuleNotFoundError):
        return f"loading it needs the Python module {error.name!r}, which is not installed"
    if isinstance(error, MlflowException):
        return _first_line(error) if error.message.strip() else "MLflow cannot load it"
    message = mask_credentials(str(error).strip())
    return f"cannot load it ({type(error).__name__}{': ' + message.splitlines()[0] if message else ''})"


def champion_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version `alias` points to; None only when the alias is not set. A store error raises RegistryError."""
    try:
        aliases = client.get_registered_model(name).aliases
        return client.get_model_version(name, aliases[alias]) if alias in aliases else None
    except MlflowException as error:
        raise RegistryError(f"cannot read alias {alias!r} of model {name!r} from the MLflow store "
                            f"{mask_credentials(client.tracking_uri)}: {_first_line(error)}") from None


def require_model(tracking_uri: str, model_uri: str) -> None:
    """Raise RegistryError unless the store exists and `model_uri` (models:/NAME@ALIAS or models:/NAME/VERSION)
    resolves in it; never creates a store."""
    database = sqlite_path(tracking_uri)
    if database is not None and not database.is_file():
        raise RegistryError(f"no MLflow store at {database} (train a model first: make train)")
    name, version, alias = _parse_model_uri(model_uri)
    client, store = MlflowClient(tracking_uri=tracking_uri), mask_credentials(tracking_uri)
    try:
        registered = client.search_registered_models(filter_string=f"name = '{name}'")
        found = bool(registered) and (alias in registered[0].aliases if alias
                                      else bool(client.get_model_version(name, version)))
    except MlflowException as error:
        raise RegistryError(f"model {model_uri}: {_first_line(error)} (store {store})") from None
    if not found:
        raise RegistryError(f"model {model_uri}: not in the MLflow store {store} (train a model first: make train)")


def _parse_model_uri(model_uri: str) -> tuple[str, str, str]:
    """NAME, VERSION and ALIAS of models:/NAME/VERSION or models:/NAME@ALIAS (the one not given is "")."""
    name, _, version = model_uri.removeprefix("models:/").partition("/")
    name, _, alias = name.partition("@")
    return name, version, alias


def registered_version(model_uri: str) -> ModelVersion:
    """The version a registry URI (models:/NAME/VERSION or models:/NAME@ALIAS) names in the current store."""
    name, version, alias = _parse_model_uri(model_uri)
    client = MlflowClient()
    return client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)


def _decide(champion: ModelVersion | None, new_f1: float | None, taxonomy: str | None, gold: str | None,
            source: SourceScore | None = None) -> tuple[bool, str]:
    """Whether the new version becomes the champion, and why: only when there is no champion yet, when its gold
    macro-F1 beats the champion's on the same gold (both fingerprints known and equal), or when the champion is its
    `source`, scored on the same gold in the same run, and it is at least as good (a calibrated copy); never across
    taxonomies (when both are known). A champion with no score on the new version's gold stays."""
    if champion is None:
        return True, "no champion yet"
    where = f"the champion (v{champion.version})"
    old_taxonomy = champion.tags.get(TAXONOMY_TAG)
    if taxonomy is not None and old_taxonomy is not None and taxonomy != old_taxonomy:
        return False, (f"taxonomy {taxonomy!r} is not {where}'s {old_taxonomy!r}: a model never becomes the "
                       "champion of another taxonomy's model (give each taxonomy its own registered model)")
    if new_f1 is None:
        return False, "no gold given: the champion stays"
    if source is not None and source.version == str(champion.version):
        verdict = "is at least" if new_f1 >= source.macro_f1 else "is below"
        return new_f1 >= source.macro_f1, (f"gold macro-F1 {new_f1:.4f} {verdict} {where}'s {source.macro_f1:.4f}, "
                                           "its source, scored on the same gold in this run")
    not_compared = f"gold macro-F1 {new_f1:.4f} not compared: "
    by_hand = "; the champion stays (move the alias by hand to promote this version)"
    old = champion.tags.get(GOLD_TAG)
    if old is None:
        return False, f"{not_compared}{where} has no gold score{by_hand}"
    if gold is None:
        return False, f"{not_compared}the gold it is on has no fingerprint{by_hand}"
    old_gold = champion.tags.get(GOLD_FINGERPRINT_TAG)
    if old_gold is None:
        return False, (f"{not_compared}{where} records no gold fingerprint, so its {float(old):.4f} may be on "
                       f"other gold{by_hand}")
    if gold != old_gold:
        return False, (f"{not_compared}it is on gold {gold}, {where}'s {float(old):.4f} on gold {old_gold}; scores "
                       f"on different gold are not compared{by_hand}")
    beats = new_f1 > float(old)
    return beats, (f"gold macro-F1 {new_f1:.4f} {'beats' if beats else 'does not beat'} the champion's "
                   f"{float(old):.4f} (v{champion.version})")


def register_and_promote(model_uri: str, name: str, alias: str, gold_macro_f1: float | None,
                         tags: dict[str, str] | None = None, *, taxonomy: str | None = None,
                         taxonomy_file: str | Path | None = None,
                         gold_fingerprint: str | None = None, source: SourceScore | None = None) -> Registration:
    """Register `model_uri` as a new version of `name`, tagged with whichever of its gold macro-F1, `gold_fingerprint`,
    `taxonomy` (a name) and the digest of `taxonomy_file` are given; point `alias` at it when `_decide` (which also
    weighs `source`) finds it the better model."""
    client = MlflowClient()
    gold = gold_fingerprint if gold_macro_f1 is not None else None
    digest = hashlib.sha256(Path(taxonomy_file).read_bytes()).hexdigest()[:16] if taxonomy_file is not None else None
    given = {GOLD_TAG: None if gold_macro_f1 is None else f"{gold_macro_f1:.6f}", GOLD_FINGERPRINT_TAG: gold,
             TAXONOMY_TAG: taxonomy, TAXONOMY_DIGEST_TAG: digest}
    version_tags = {**(tags or {}), **{tag: value for tag, value in given.items() if value is not None}}
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints "Created version ..."; Registration says it
        version = str(mlflow.register_model(model_uri, name, tags=version_tags).version)
    champion = champion_version(client, name, alias)
    promoted, reason = _decide(champion, gold_macro_f1, taxonomy, gold, source)
    if promoted:
        client.set_registered_model_alias(name, alias, version)
    return Registration(name=name, version=version, alias=alias, promoted=promoted, reason=reason,
                        champion_version=version if promoted else (str(champion.version) if champion else ""))
