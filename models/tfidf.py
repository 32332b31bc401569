"""TF-IDF with logistic regression on probabilistic labels: the fast end-model baseline."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.base import (
    EpochCallback,
    EvalSet,
    ProbabilisticClassifier,
    TrainingDataError,
    epoch_row,
    read_config,
    soft_cross_entropy,
    write_config,
)
from models.text import frame_texts

MODEL_FILE = "tfidf.joblib"
MIN_WEIGHT = 1e-3  # expanded (paper, area) rows lighter than this are dropped


@dataclasses.dataclass
class TfidfClassifier(ProbabilisticClassifier):
    """Word 1-2-gram TF-IDF and a multinomial logistic regression fitted on soft labels.

    Each paper is expanded into one row per area, weighted by that area's probability, so the loss is the
    cross-entropy against the label distribution, as for the MiniLM end model.
    """

    max_features: int = 50_000
    C: float = 10.0
    min_df: int = 2
    seed: int = 0

    def _fit(
        self, texts: list[str], targets: np.ndarray, eval_set: EvalSet | None, on_epoch: EpochCallback, progress: bool
    ) -> None:
        """Expanded weighted rows, one logistic regression; a single history row (epoch 1).

        Fewer papers than `min_df` lower it to the number of papers; no words left after stop words, or labels
        naming a single area, raise TrainingDataError.
        """
        self.n_classes_ = targets.shape[1]
        self.vectorizer_ = TfidfVectorizer(
            max_features=self.max_features,
            ngram_range=(1, 2),
            min_df=min(self.min_df, len(texts)),
            sublinear_tf=True,
            stop_words="english",
        )
        try:
            features = self.vectorizer_.fit_transform(texts)
        except ValueError:  # sklearn: "empty vocabulary"
            raise TrainingDataError(f"the {len(texts)} training papers have no word in at least "
                                    f"{min(self.min_df, len(texts))} of them (stop words aside): "
                                    "nothing for the tfidf end model to learn from") from None
        rows, areas = np.nonzero(targets >= MIN_WEIGHT)
        if len(set(areas)) < 2:
            raise TrainingDataError(f"the weak labels of the {len(texts)} training papers name one area only: "
                                    "the tfidf end model needs at least two")
        self.regression_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        self.regression_.fit(features[rows], areas, sample_weight=targets[rows, areas])
        row = epoch_row(1, soft_cross_entropy(self._text_proba(texts), targets), self, eval_set)
        self.history_, self.best_epoch_ = [row], 1
        on_epoch(row)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(N, K) area probabilities; areas never seen in training get probability 0."""
        return self._text_proba(frame_texts(frame))

    def _text_proba(self, texts: list[str]) -> np.ndarray:
        probabilities = np.zeros((len(texts), self.n_classes_))
        if texts:
            probabilities[:, self.regression_.classes_] = self.regression_.predict_proba(
                self.vectorizer_.transform(texts)
            )
        return probabilities

    def save(self, directory: str | Path) -> Path:
        directory = write_config(directory, "tfidf", dataclasses.asdict(self), {"n_classes": self.n_classes_})
        joblib.dump((self.vectorizer_, self.regression_), directory / MODEL_FILE)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> TfidfClassifier:
        _, params, state = read_config(directory, "tfidf")
        classifier = cls(**params)
        classifier.n_classes_ = state["n_classes"]
        classifier.vectorizer_, classifier.regression_ = joblib.load(Path(directory) / MODEL_FILE)
        classifier.best_epoch_ = 1
        return classifier
