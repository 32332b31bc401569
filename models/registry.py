"""The end models a config can name, in one place: how each is built from the config's values, which class loads it
back from a saved folder, and the no-gold maps shipped for them (looked up by the set of kinds, in any order).

Importing this module loads no model code (no torch, transformers or MLflow): classes are imported when a model is
built or loaded, so that `train.py --help` and loading a config stay fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.base import ProbabilisticClassifier
    from models.calibration import TopLabelLogistic


@dataclass(frozen=True)
class EndModelKind:
    """One end model: its class (`module:Class`), the `KIND` its saved folders carry, and per `__init__` parameter
    the config key (dotted, as in `TrainConfig.flat()`) it is built from; parameters not named keep their defaults."""

    class_path: str
    saved_kind: str
    params: Mapping[str, str]

    def estimator_class(self) -> type[ProbabilisticClassifier]:
        return _import(self.class_path)

    def build(self, settings: Mapping[str, Any]) -> ProbabilisticClassifier:
        """A new, unfitted estimator with its parameters taken from `settings` (dotted config keys)."""
        return self.estimator_class()(**{param: settings[key] for param, key in self.params.items()})


_MINILM_PARAMS = ("model_path", "max_length", "epochs", "batch_size", "learning_rate", "frozen_layers", "seed")

# Adding an end model: one entry here (and, once measured, its no-gold map below).
END_MODELS: dict[str, EndModelKind] = {
    "minilm": EndModelKind("models.minilm:MiniLMClassifier", "minilm",
                           {param: f"end_model.{param}" for param in _MINILM_PARAMS}),
    "tfidf": EndModelKind("models.soft_logistic:TfidfClassifier", "tfidf", {"seed": "end_model.seed"}),
    "embedding": EndModelKind(  # logistic regression on the frozen `embeddings` encoder
        "models.embeddings:EmbeddingLogisticClassifier", "embedding_logistic",
        {"model_path": "embeddings.model_path", "max_length": "embeddings.max_length",
         "cache_dir": "embeddings.cache_dir", "seed": "end_model.seed"}),
}
END_MODEL_KINDS: tuple[str, ...] = tuple(END_MODELS)

# Wrappers around other saved classifiers, by the KIND their folders carry.
_WRAPPERS = {"average": "models.wrappers:AveragedClassifier", "calibrated": "models.wrappers:CalibratedClassifier",
             "taught": "models.teacher:TaughtClassifier"}

# Top-label logistic maps (slope, intercept) for a run without gold, by the set of kinds averaged: fitted on the dev
# gold of both shipped taxonomies (ICLR 2025's 21 areas, Papers with Code's 16), each taxonomy's models uncalibrated;
# measured on each taxonomy with the map fitted on the other taxonomy alone (bench/bench_calibration_transfer.py).
NO_GOLD_MAPS: dict[frozenset[str], tuple[float, float]] = {
    frozenset({"minilm", "tfidf"}): (0.338, -0.300),
    frozenset({"minilm"}): (0.341, -0.639),
    frozenset({"tfidf"}): (0.284, -0.207),
    frozenset({"tfidf", "teacher"}): (0.257, -0.163),  # served with its teacher (bench_teacher)
}


def build_end_model(kinds: Iterable[str], settings: Mapping[str, Any]) -> ProbabilisticClassifier:
    """The end model of one kind, or the average of several (the first the main one), built from `settings`."""
    members = [END_MODELS[kind].build(settings) for kind in kinds]
    if len(members) == 1:
        return members[0]
    from models.wrappers import AveragedClassifier

    return AveragedClassifier(members)


def no_gold_map(kinds: Iterable[str]) -> TopLabelLogistic | None:
    """A new copy of the map shipped for an end model of these kinds (averaged in any order); None when none is."""
    if (numbers := NO_GOLD_MAPS.get(frozenset(kinds))) is None:
        return None
    from models.calibration import TopLabelLogistic

    return TopLabelLogistic(*numbers)  # slope, intercept


def _import(class_path: str) -> Any:
    module, _, name = class_path.partition(":")
    return getattr(importlib.import_module(module), name)


def load_classifier(directory: str | Path) -> ProbabilisticClassifier:
    """Any classifier saved with its `save` method, by the kind in its folder (wrappers load what they wrap)."""
    from models.base import read_config

    kind, _, _ = read_config(directory)
    if kind in _WRAPPERS:
        return _import(_WRAPPERS[kind]).load(directory, load_classifier)
    for entry in END_MODELS.values():
        if entry.saved_kind == kind:
            return entry.estimator_class().load(directory)
    raise ValueError(f"{directory}: unknown classifier kind {kind!r}")
