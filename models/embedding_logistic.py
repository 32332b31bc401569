"""Logistic regression on frozen sentence embeddings, fitted on soft labels: a second view of the text."""

from __future__ import annotations

import dataclasses
from functools import cached_property
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from models.base import (
    EpochCallback,
    EvalSet,
    ProbabilisticClassifier,
    epoch_row,
    read_config,
    soft_cross_entropy,
    write_config,
)
from models.embeddings import SentenceEncoder
from models.text import frame_texts
from models.tfidf import MIN_WEIGHT

MODEL_FILE = "embedding_logistic.joblib"


def fit_soft_labels(regression: LogisticRegression, features: np.ndarray, targets: np.ndarray) -> None:
    """Fit on (N, K) soft labels: each paper becomes one row per area, weighted by that area's probability
    (rows lighter than MIN_WEIGHT dropped), so the loss is the cross-entropy against the label distribution."""
    rows, areas = np.nonzero(targets >= MIN_WEIGHT)
    regression.fit(features[rows], areas, sample_weight=targets[rows, areas])


def soft_label_proba(regression: LogisticRegression, features: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, n_classes) probabilities of a regression from `fit_soft_labels`; areas it never saw get 0."""
    probabilities = np.zeros((features.shape[0], n_classes))
    if features.shape[0]:
        probabilities[:, regression.classes_] = regression.predict_proba(features)
    return probabilities


@dataclasses.dataclass
class EmbeddingLogisticClassifier(ProbabilisticClassifier):
    """Multinomial logistic regression on unit-length mean-pooled embeddings of a frozen encoder.

    The encoder is `model_path` (None: the packaged all-MiniLM-L6-v2); `cache_dir` keeps embeddings on disk
    between runs and is not saved with the model.
    """

    model_path: str | None = None
    max_length: int = 128  # the end model's; abstracts run longer, but it halves the time
    C: float = 10.0
    batch_size: int = 32
    num_threads: int | None = None
    cache_dir: str | None = None
    seed: int = 0

    @cached_property
    def encoder(self) -> SentenceEncoder:
        return SentenceEncoder(self.model_path, self.max_length, self.batch_size, self.num_threads, self.cache_dir)

    def _fit(
        self, texts: list[str], targets: np.ndarray, eval_set: EvalSet | None, on_epoch: EpochCallback, progress: bool
    ) -> None:
        """One logistic regression on the embeddings; a single history row (epoch 1)."""
        self.n_classes_ = targets.shape[1]
        features = self.encoder.embed(texts)
        self.regression_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        fit_soft_labels(self.regression_, features, targets)
        train_proba = soft_label_proba(self.regression_, features, self.n_classes_)
        row = epoch_row(1, soft_cross_entropy(train_proba, targets), self, eval_set)
        self.history_, self.best_epoch_ = [row], 1
        on_epoch(row)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(N, K) area probabilities; areas never seen in training get probability 0."""
        return soft_label_proba(self.regression_, self.encoder.embed(frame_texts(frame)), self.n_classes_)

    def save(self, directory: str | Path) -> Path:
        params = dataclasses.asdict(self) | {"cache_dir": None}
        directory = write_config(directory, "embedding_logistic", params, {"n_classes": self.n_classes_})
        joblib.dump(self.regression_, directory / MODEL_FILE)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> EmbeddingLogisticClassifier:
        _, params, state = read_config(directory, "embedding_logistic")
        classifier = cls(**params)
        classifier.n_classes_ = state["n_classes"]
        classifier.regression_ = joblib.load(Path(directory) / MODEL_FILE)
        classifier.best_epoch_ = 1
        return classifier
