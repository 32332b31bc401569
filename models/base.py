"""What every end model shares: predict from predict_proba, gold scoring per epoch, the saved-config file."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.evaluation import score
from models.text import frame_texts
from paper_areas.core import UserError

CONFIG_FILE = "classifier.json"

EvalSet = tuple[pd.DataFrame, np.ndarray]
EpochCallback = Callable[[dict], None]


@dataclass(frozen=True)
class FineTuning:
    """How a fitted end model continues on a few clean labels: MiniLM's epochs and learning rate over them; a
    logistic regression's weight `C` on them against its fitted weights as the prior (None: its own `C`)."""

    epochs: int = 6
    learning_rate: float = 1e-4
    C: float | None = None


class TrainingDataError(UserError):
    """Training papers or labels an end model cannot learn from; the message says what is missing."""


class ProbabilisticClassifier:
    """Base of the end models: subclasses implement `_fit` and `predict_proba(frame) -> (N, K)`, `save` and `load`
    (a calibrated model wraps one: `models.wrappers.CalibratedClassifier`)."""

    def fit(self, frame: pd.DataFrame, soft_labels: np.ndarray, eval_set: EvalSet | None = None,
            on_epoch: EpochCallback | None = None, progress: bool = True) -> ProbabilisticClassifier:
        """Fit on papers (`title`/`abstract` columns) and their (N, K) label distributions.
        With `eval_set` (papers, gold area indices) each epoch is scored on gold and the best one kept;
        `on_epoch` receives each `history_` row; `progress` shows a progress bar on a terminal."""
        texts = frame_texts(frame)
        self._fit(texts, check_soft_labels(soft_labels, len(texts)), eval_set, on_epoch or (lambda row: None), progress)
        return self

    def _fit(self, texts: list[str], targets: np.ndarray, eval_set: EvalSet | None, on_epoch: EpochCallback,
             progress: bool) -> None:
        raise NotImplementedError

    def fine_tune(self, frame: pd.DataFrame, targets: np.ndarray, settings: FineTuning,
                  progress: bool = False) -> ProbabilisticClassifier:
        """Continue training the fitted model from where it is on more papers and their (N, K) targets (a few hand
        labels after the weak ones); returns self."""
        raise TypeError(f"a {type(self).__name__} cannot be fine-tuned")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(N, K) area probabilities."""
        raise NotImplementedError

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The most probable area index of each paper."""
        return self.predict_proba(frame).argmax(axis=1)


def check_soft_labels(soft_labels: np.ndarray, n_rows: int) -> np.ndarray:
    """Soft labels as a float (N, K) array whose rows sum to 1; raises ValueError when they cannot be."""
    soft_labels = np.asarray(soft_labels, dtype=np.float64)
    if soft_labels.ndim != 2 or soft_labels.shape[0] != n_rows:
        raise ValueError(f"soft labels must have shape ({n_rows}, K), got {soft_labels.shape}")
    if (soft_labels < 0).any() or not np.isfinite(soft_labels).all():
        raise ValueError("soft labels must be finite and non-negative")
    totals = soft_labels.sum(axis=1, keepdims=True)
    if (totals <= 0).any():
        raise ValueError("every soft-label row needs a positive total (drop all-abstain papers first)")
    return soft_labels / totals


def soft_cross_entropy(probabilities: np.ndarray, soft_labels: np.ndarray) -> float:
    """Mean cross-entropy of predicted probabilities against target distributions."""
    return float(-(soft_labels * np.log(np.clip(probabilities, 1e-12, None))).sum(axis=1).mean())


def epoch_row(epoch: int, train_loss: float, classifier: ProbabilisticClassifier, eval_set: EvalSet | None) -> dict:
    """One history row: epoch, train loss and, with an eval set, gold accuracy and macro-F1."""
    row = {"epoch": epoch, "train_loss": train_loss}
    if eval_set is not None:
        frame, labels = eval_set
        probabilities, labels = classifier.predict_proba(frame), np.asarray(labels)
        gold = labels.argmax(axis=1) if labels.ndim == 2 else labels.astype(int)  # indices, or one-hot/probabilities
        scores = score(gold, probabilities.argmax(axis=1), [str(area) for area in range(probabilities.shape[1])])
        row |= {"gold_accuracy": scores.accuracy, "gold_macro_f1": scores.macro_f1}
    return row


def write_config(directory: str | Path, kind: str, params: dict, state: dict) -> Path:
    """Create `directory` and write the classifier kind, its `__init__` params and fitted state to its config."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps({"kind": kind, "params": params, "state": state}, indent=2))
    return directory


def read_config(directory: str | Path, kind: str | None = None) -> tuple[str, dict, dict]:
    """Kind, `__init__` params and fitted state of a saved classifier folder; checks the kind when given."""
    path = Path(directory) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: not a saved classifier folder")
    config = json.loads(path.read_text())
    if kind is not None and config.get("kind") != kind:
        raise ValueError(f"{path}: expected a {kind!r} classifier, found {config.get('kind')!r}")
    return config["kind"], config["params"], config["state"]
