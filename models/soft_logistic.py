"""Multinomial logistic regression on soft labels over some features of the text: the core of the TF-IDF and the
frozen-embedding end models."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models.base import (
    EpochCallback,
    EvalSet,
    ProbabilisticClassifier,
    TrainingDataError,
    epoch_row,
    soft_cross_entropy,
)
from models.text import frame_texts

MIN_WEIGHT = 1e-3  # expanded (paper, area) rows lighter than this are dropped


def fit_soft_labels(regression: LogisticRegression, features, targets: np.ndarray, what: str) -> None:
    """Fit on (N, K) soft labels: each paper becomes one row per area, weighted by that area's probability
    (rows lighter than MIN_WEIGHT dropped), so the loss is the cross-entropy against the label distribution.
    Labels naming a single area raise TrainingDataError (`what` names the end model)."""
    rows, areas = np.nonzero(targets >= MIN_WEIGHT)
    if len(set(areas)) < 2:
        raise TrainingDataError(f"the weak labels of the {len(targets)} training papers name one area only: "
                                f"the {what} end model needs at least two")
    regression.fit(features[rows], areas, sample_weight=targets[rows, areas])


def soft_label_proba(regression: LogisticRegression, features, n_classes: int) -> np.ndarray:
    """(N, n_classes) probabilities of a regression from `fit_soft_labels`; areas it never saw get 0."""
    probabilities = np.zeros((features.shape[0], n_classes))
    if features.shape[0]:
        probabilities[:, regression.classes_] = regression.predict_proba(features)
    return probabilities


class SoftLogisticClassifier(ProbabilisticClassifier):
    """Logistic regression (`C`, `seed`) on `_features(texts, fit)`; subclasses are dataclasses naming their `KIND`
    and saving their featurizer state through `_featurizer` / `_set_featurizer`."""

    KIND = ""
    C: float
    seed: int

    def _features(self, texts: list[str], fit: bool):
        raise NotImplementedError

    def _fit(
        self, texts: list[str], targets: np.ndarray, eval_set: EvalSet | None, on_epoch: EpochCallback, progress: bool
    ) -> None:
        """One logistic regression on the features; a single history row (epoch 1)."""
        self.n_classes_ = targets.shape[1]
        features = self._features(texts, fit=True)
        self.regression_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        fit_soft_labels(self.regression_, features, targets, self.KIND)
        train_proba = soft_label_proba(self.regression_, features, self.n_classes_)
        row = epoch_row(1, soft_cross_entropy(train_proba, targets), self, eval_set)
        self.history_, self.best_epoch_ = [row], 1
        on_epoch(row)

    def _predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(N, K) area probabilities; areas never seen in training get probability 0."""
        texts = frame_texts(frame)
        if not texts:
            return np.zeros((0, self.n_classes_))
        return soft_label_proba(self.regression_, self._features(texts, fit=False), self.n_classes_)

    def _featurizer(self) -> object:
        """What of the fitted featurizer must be saved (None: nothing)."""
        return None

    def _set_featurizer(self, saved: object) -> None:
        pass

    def _saved_params(self) -> dict:
        return dataclasses.asdict(self)

    def save(self, directory: str | Path) -> Path:
        directory = self._write_config(directory, self.KIND, self._saved_params(), {"n_classes": self.n_classes_})
        joblib.dump((self._featurizer(), self.regression_), directory / f"{self.KIND}.joblib")
        return directory

    @classmethod
    def load(cls, directory: str | Path):
        classifier, state = cls._from_config(directory, cls.KIND)
        classifier.n_classes_ = state["n_classes"]
        featurizer, classifier.regression_ = joblib.load(Path(directory) / f"{cls.KIND}.joblib")
        classifier._set_featurizer(featurizer)
        classifier.best_epoch_ = 1
        return classifier
