"""Multinomial logistic regression on soft labels over some features of the text: the core of the TF-IDF end model
(here: the fast baseline) and of the frozen-embedding one (`models.embeddings`)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy import optimize, sparse
from scipy.special import logsumexp, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from models.base import (
    EpochCallback,
    EvalSet,
    FineTuning,
    ProbabilisticClassifier,
    TrainingDataError,
    check_soft_labels,
    epoch_row,
    read_config,
    soft_cross_entropy,
    write_config,
)
from models.text import frame_texts

MIN_WEIGHT = 1e-3  # an area no paper has at least this probability for is not named by the labels
UNSEEN_OFFSET = 5.0  # logits: how far below the other areas an area no weak label named starts, when refined


def _float64(features):
    """`features` (scipy sparse or dense, (N, d)) as float64 CSR or a float64 array, copied only when needed."""
    if sparse.issparse(features):
        return features.tocsr().astype(np.float64, copy=False)
    return np.asarray(features, dtype=np.float64)


def softmax_objective(parameters: np.ndarray, features, targets: np.ndarray, C: float,
                      prior: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """C * sum_ik p_ik * -log q_ik + ||W||^2 / 2 and its gradient, q_i = softmax(x_i W + b), a row of P weighted
    by its total; `parameters` is W (d, K) raveled, then b (K). With `prior` (parameters too) the penalty is
    ||parameters - prior||^2 / 2, the intercepts included."""
    n_classes = targets.shape[1]
    coef, intercept = parameters[:-n_classes].reshape(-1, n_classes), parameters[-n_classes:]
    row_weights = targets.sum(axis=1)
    logits = features @ coef + intercept
    log_norm = logsumexp(logits, axis=1)
    shift = parameters - prior if prior is not None else np.concatenate([coef.ravel(), np.zeros(n_classes)])
    loss = C * (row_weights @ log_norm - np.vdot(targets, logits)) + 0.5 * np.vdot(shift, shift)
    residual = np.exp(logits - log_norm[:, None]) * row_weights[:, None] - targets  # Q - P for rows summing to 1
    gradient = np.concatenate([C * (features.T @ residual).ravel(), C * residual.sum(axis=0)]) + shift
    return float(loss), gradient


@dataclasses.dataclass
class SoftmaxRegression:
    """Multinomial logistic regression fitted directly on (N, K) target distributions P, without replicating rows.
    Minimises  C * sum_ik p_ik * -log q_ik + ||W||^2 / 2,  q_i = softmax(x_i W + b), the intercept b unpenalised:
    the objective of scikit-learn's lbfgs LogisticRegression on one row per (paper, area) weighted by p_ik. As
    there, L-BFGS-B runs on that objective divided by C * sum(P) (`tol` bounds its largest gradient entry).
    A row of P counts with its total as weight. Areas without any target mass are left out of the fit and get
    probability exactly 0 (intercept -inf). Deterministic."""

    C: float = 1.0
    max_iter: int = 1000
    tol: float = 1e-4

    def fit(self, features, targets: np.ndarray) -> SoftmaxRegression:
        """Fit on features X (N, d; scipy sparse or dense) and non-negative targets P (N, K)."""
        features, targets = _float64(features), np.asarray(targets, dtype=np.float64)
        n_features, n_classes = features.shape[1], targets.shape[1]
        seen = targets.sum(axis=0) > 0
        n_seen, seen_targets = int(seen.sum()), targets[:, seen]
        scale = 1.0 / (self.C * seen_targets.sum())

        def scaled(parameters: np.ndarray) -> tuple[float, np.ndarray]:
            loss, gradient = softmax_objective(parameters, features, seen_targets, self.C)
            return scale * loss, scale * gradient

        result = self._minimize(scaled, np.zeros((n_features + 1) * n_seen))
        return self._set_areas(n_classes, seen, result.x[:-n_seen].reshape(n_features, n_seen).T, result.x[-n_seen:])

    def refine(self, features, targets: np.ndarray, C: float) -> SoftmaxRegression:
        """Continue from the fitted weights on more rows: the weights W minimise C * their cross-entropy +
        ||W - W_fitted||^2 / 2 (the fitted model as the prior), the intercepts stay (a few labels of one area must
        not lift that area for every paper: that is the per-area offsets' job, fitted out of fold). An area the
        first fit left out (probability 0) gets the intercept of the least likely area seen, less `UNSEEN_OFFSET`,
        so that only papers whose words its labels name move to it."""
        features, targets = _float64(features), np.asarray(targets, dtype=np.float64)
        seen = np.isfinite(self.intercept_)
        intercept = np.where(seen, self.intercept_, self.intercept_[seen].min() - UNSEEN_OFFSET)
        prior = self.coef_.T.ravel()
        n_classes = targets.shape[1]
        scale = 1.0 / (C * max(targets.sum(), 1.0))

        def scaled(coef: np.ndarray) -> tuple[float, np.ndarray]:
            loss, gradient = softmax_objective(np.concatenate([coef, intercept]), features, targets, C,
                                               np.concatenate([prior, intercept]))
            return scale * loss, scale * gradient[:-n_classes]

        self.coef_ = self._minimize(scaled, prior).x.reshape(-1, n_classes).T
        self.intercept_ = intercept
        return self

    def _minimize(self, scaled, start: np.ndarray) -> optimize.OptimizeResult:
        result = optimize.minimize(
            scaled, start, method="L-BFGS-B", jac=True,
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * np.finfo(float).eps, "maxls": 50},
        )
        if not result.success:
            warnings.warn(f"SoftmaxRegression did not converge in {result.nit} iterations: {result.message}",
                          ConvergenceWarning, stacklevel=3)
        return result

    def _set_areas(self, n_areas: int, areas: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> SoftmaxRegression:
        """`coef_` and `intercept_` of all `n_areas` areas from those of the fitted `areas`; the others get p = 0."""
        self.coef_ = np.zeros((n_areas, coef.shape[1]))
        self.coef_[areas] = coef
        self.intercept_ = np.full(n_areas, -np.inf)
        self.intercept_[areas] = intercept
        return self

    def predict_proba(self, features) -> np.ndarray:
        """(N, K) probabilities, softmax(X W + b)."""
        return softmax(_float64(features) @ self.coef_.T + self.intercept_, axis=1)

    @classmethod
    def from_sklearn(cls, regression: LogisticRegression, n_classes: int) -> SoftmaxRegression:
        """The same predictor as a LogisticRegression saved by the replicating fit before issue 11 (fitted on
        the area indices in its `classes_`; the others get probability 0)."""
        coef, intercept = regression.coef_, regression.intercept_
        if len(regression.classes_) == 2:  # binary: p(classes_[1]) = sigmoid(x w + b) = softmax([0, x w + b])
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        converted = cls(C=regression.C, max_iter=regression.max_iter, tol=regression.tol)
        return converted._set_areas(n_classes, regression.classes_, coef, intercept)


class SoftLogisticClassifier(ProbabilisticClassifier):
    """A SoftmaxRegression (`C`) on `_features(texts, fit)`; subclasses are dataclasses naming their `KIND`, the
    attribute holding their fitted featurizer, if any (`FEATURIZER`, saved with the regression), and the params not
    saved (`UNSAVED_PARAMS`). `seed` is kept in their params (the config passes it, saved models carry it) although
    the fit is deterministic and does not use it."""

    KIND = ""
    FEATURIZER = ""
    UNSAVED_PARAMS: tuple[str, ...] = ()
    C: float
    seed: int

    def _features(self, texts: list[str], fit: bool):
        raise NotImplementedError

    def _fit(self, texts: list[str], targets: np.ndarray, eval_set: EvalSet | None, on_epoch: EpochCallback,
             progress: bool) -> None:
        """One softmax regression on the features; a single history row (epoch 1). Labels naming a single area
        raise TrainingDataError."""
        self.n_classes_ = targets.shape[1]
        features = self._features(texts, fit=True)
        if np.count_nonzero((targets >= MIN_WEIGHT).any(axis=0)) < 2:
            raise TrainingDataError(f"the weak labels of the {len(targets)} training papers name one area only: "
                                    f"the {self.KIND} end model needs at least two")
        self.regression_ = SoftmaxRegression(C=self.C).fit(features, targets)
        row = epoch_row(1, soft_cross_entropy(self.regression_.predict_proba(features), targets), self, eval_set)
        self.history_, self.best_epoch_ = [row], 1
        on_epoch(row)

    def fine_tune(self, frame: pd.DataFrame, targets: np.ndarray, settings: FineTuning,
                  progress: bool = False) -> SoftLogisticClassifier:
        """Continue from the fitted regression on more papers and their (N, K) targets, the fitted weights as the
        prior (`SoftmaxRegression.refine` with `settings.C`, default the model's own); the features stay as fitted."""
        texts = frame_texts(frame)
        targets = check_soft_labels(targets, len(texts))
        self.regression_.refine(self._features(texts, fit=False), targets, settings.C or self.C)
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """(N, K) area probabilities; areas without any weak-label probability in training get 0."""
        texts = frame_texts(frame)
        if not texts:
            return np.zeros((0, self.n_classes_))
        return self.regression_.predict_proba(self._features(texts, fit=False))

    def save(self, directory: str | Path) -> Path:
        params = dataclasses.asdict(self) | dict.fromkeys(self.UNSAVED_PARAMS)  # saved as None
        directory = write_config(directory, self.KIND, params, {"n_classes": self.n_classes_})
        featurizer = getattr(self, self.FEATURIZER) if self.FEATURIZER else None
        joblib.dump((featurizer, self.regression_), directory / f"{self.KIND}.joblib")
        return directory

    @classmethod
    def load(cls, directory: str | Path):
        """A saved classifier; one saved with a scikit-learn LogisticRegression (before issue 11) is converted."""
        _, params, state = read_config(directory, cls.KIND)
        classifier = cls(**params)
        classifier.n_classes_ = state["n_classes"]
        featurizer, regression = joblib.load(Path(directory) / f"{cls.KIND}.joblib")
        if isinstance(regression, LogisticRegression):
            regression = SoftmaxRegression.from_sklearn(regression, classifier.n_classes_)
        classifier.regression_ = regression
        if cls.FEATURIZER:
            setattr(classifier, cls.FEATURIZER, featurizer)
        classifier.best_epoch_ = 1
        return classifier


@dataclasses.dataclass
class TfidfClassifier(SoftLogisticClassifier):
    """Word 1-2-gram TF-IDF and a multinomial logistic regression fitted on the soft labels directly (the loss is the
    cross-entropy against each paper's label distribution, as for MiniLM). Fewer papers than `min_df` lower it to
    the number of papers; no words left after stop words raise TrainingDataError."""

    KIND = "tfidf"
    FEATURIZER = "vectorizer_"
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
