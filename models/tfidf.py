"""TF-IDF with logistic regression on probabilistic labels: the fast end-model baseline."""

from __future__ import annotations

import dataclasses

from sklearn.feature_extraction.text import TfidfVectorizer

from models.base import TrainingDataError
from models.soft_logistic import SoftLogisticClassifier


@dataclasses.dataclass
class TfidfClassifier(SoftLogisticClassifier):
    """Word 1-2-gram TF-IDF and a multinomial logistic regression fitted on soft labels.

    The loss is the cross-entropy against each paper's label distribution, as for the MiniLM end model
    (`SoftmaxRegression`, fitted on the soft labels directly). Fewer papers than `min_df` lower it to the number
    of papers; no words left after stop words raise TrainingDataError.
    """

    KIND = "tfidf"
    max_features: int = 50_000
    C: float = 10.0
    min_df: int = 2
    seed: int = 0

    def _features(self, texts: list[str], fit: bool):
        if not fit:
            return self.vectorizer_.transform(texts)
        self.vectorizer_ = TfidfVectorizer(
            max_features=self.max_features,
            ngram_range=(1, 2),
            min_df=min(self.min_df, len(texts)),
            sublinear_tf=True,
            stop_words="english",
        )
        try:
            return self.vectorizer_.fit_transform(texts)
        except ValueError:  # sklearn: "empty vocabulary"
            raise TrainingDataError(f"the {len(texts)} training papers have no word in at least "
                                    f"{min(self.min_df, len(texts))} of them (stop words aside): "
                                    "nothing for the tfidf end model to learn from") from None

    def _featurizer(self) -> TfidfVectorizer:
        return self.vectorizer_

    def _set_featurizer(self, saved: TfidfVectorizer) -> None:
        self.vectorizer_ = saved
