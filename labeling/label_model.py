"""Combining LF votes: Snorkel's LabelModel and majority vote, the better on gold selected."""

from __future__ import annotations

import numpy as np
from snorkel.labeling.model import LabelModel

from models.evaluation import ABSTAIN, Scores, score

PREDICTORS = ("label_model", "majority_vote")
PRIORS = ("estimate", "uniform")
PREDICT_CHUNK = 20_000  # rows a LabelModel predicts at once: its one-hot matrix is rows x (LFs x areas) floats
MIN_LABEL_MODEL_LFS = 3  # Snorkel's LabelModel needs at least this many LFs; with fewer, majority vote is used


def covered(L: np.ndarray) -> np.ndarray:
    """Mask of the papers with at least one non-abstain vote."""
    return (np.asarray(L) != ABSTAIN).any(axis=1)


def gold_class_balance(y: np.ndarray, cardinality: int, smoothing: float = 1.0) -> np.ndarray:
    """Class frequencies of the gold labels with additive smoothing, so that no class gets 0."""
    counts = np.bincount(np.asarray(y, dtype=int), minlength=cardinality) + smoothing
    return counts / counts.sum()


def vote_shares(L: np.ndarray, cardinality: int) -> np.ndarray:
    """(N, K) majority-vote distribution of each paper: the tied winners share 1 (rows without votes are 0)."""
    L = np.asarray(L)
    counts = np.stack([(L == k).sum(axis=1) for k in range(cardinality)], axis=1)
    winners = (counts == counts.max(axis=1, keepdims=True)) & (counts > 0)
    totals = winners.sum(axis=1, keepdims=True)
    return np.divide(winners, totals, out=np.zeros(winners.shape), where=totals > 0)


def majority_areas(L: np.ndarray, cardinality: int, chunk: int = 100_000) -> np.ndarray:
    """Each paper's majority-vote area (ties: the lower index), -1 without votes; computed in chunks of rows."""
    parts = [np.where(covered(part), vote_shares(part, cardinality).argmax(axis=1), ABSTAIN)
             for part in (L[start:start + chunk] for start in range(0, len(L), chunk))]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def estimated_class_balance(L: np.ndarray, cardinality: int, smoothing: float = 1.0) -> np.ndarray:
    """Class balance without gold: the majority-vote label distribution of the covered papers, smoothed."""
    counts = vote_shares(L, cardinality).sum(axis=0) + smoothing
    return counts / counts.sum()


class WeakLabeler:
    """Probabilistic labels from an (N, M) vote matrix: Snorkel's LabelModel or majority vote.

    With gold, both are scored (abstains, i.e. papers without votes, count as wrong) and the one with the
    higher macro-F1 is selected; without gold, the label model is. Majority-vote ties go to the class with
    the larger prior (class balance), then to the lower index.

    The defaults (lr 0.001, 100 epochs) stay near the initial, equal LF accuracies: on the real votes, whose LFs
    are correlated, that beat Snorkel's lr 0.01 (which learns the accuracies of independent LFs) by 2 points.
    The class balance is `class_balance` when given, else the gold label frequencies, else (`prior`)
    `uniform` (default) or estimated from the votes (`estimate`): on the ICLR dev set the estimate, pulled
    towards the areas with most LFs, scored 1-2 points below uniform (bench/bench_weak_labels.py).

    Snorkel's LabelModel holds a dense rows x (LFs x areas) matrix, so it is fitted on at most `max_rows` rows
    (a uniform sample drawn with `seed`; None: all) and predicts in chunks of PREDICT_CHUNK rows. It needs at least
    MIN_LABEL_MODEL_LFS LFs: with fewer, majority vote is the only predictor (`predictors_`), fitted on no rows.
    """

    def __init__(
        self,
        cardinality: int,
        epochs: int = 100,
        lr: float = 0.001,
        l2: float = 0.0,
        seed: int = 0,
        class_balance: np.ndarray | None = None,
        area_names: list[str] | None = None,
        prior: str = "uniform",
        max_rows: int | None = 50_000,
    ) -> None:
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}, not {prior!r}")
        self.cardinality = cardinality
        self.epochs = epochs
        self.lr = lr
        self.l2 = l2
        self.seed = seed
        self.class_balance = class_balance
        self.area_names = area_names
        self.prior = prior
        self.max_rows = max_rows

    def fit(self, L_train: np.ndarray, L_gold: np.ndarray | None = None, y_gold: np.ndarray | None = None
            ) -> WeakLabeler:
        if (L_gold is None) != (y_gold is None):
            raise ValueError("give both L_gold and y_gold, or neither")
        balance = self.class_balance
        if balance is None and y_gold is not None:
            balance = gold_class_balance(y_gold, self.cardinality)
        if balance is None:
            balance = (estimated_class_balance(L_train, self.cardinality) if self.prior == "estimate"
                       else np.full(self.cardinality, 1 / self.cardinality))
        self.class_balance_ = np.asarray(balance, dtype=float)
        L_train = np.asarray(L_train)
        if self.max_rows is not None and len(L_train) > self.max_rows:
            rows = np.random.default_rng(self.seed).choice(len(L_train), size=self.max_rows, replace=False)
            L_train = L_train[np.sort(rows)]
        self.predictors_, self.fit_rows_ = ("majority_vote",), 0
        if L_train.shape[1] >= MIN_LABEL_MODEL_LFS:
            self.label_model_ = LabelModel(cardinality=self.cardinality, verbose=False)
            self.label_model_.fit(
                L_train, class_balance=self.class_balance_.tolist(), n_epochs=self.epochs, lr=self.lr,
                l2=self.l2, seed=self.seed, progress_bar=False,
            )
            self.predictors_, self.fit_rows_ = PREDICTORS, len(L_train)
        self.selected_ = self.predictors_[0]
        self.gold_scores_: dict[str, Scores] = {}
        if L_gold is not None:
            names = self.area_names or [str(k) for k in range(self.cardinality)]
            self.gold_scores_ = {
                predictor: score(y_gold, self.predict_of(predictor, L_gold), names) for predictor in self.predictors_
            }
            self.selected_ = max(self.predictors_, key=lambda predictor: self.gold_scores_[predictor].macro_f1)
        return self

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """(N, K) class probabilities from the selected predictor (rows without votes are uninformative)."""
        return self.proba_of(self.selected_, L)

    def predict(self, L: np.ndarray) -> np.ndarray:
        """Most probable area of each paper, -1 for papers without votes."""
        return self.predict_of(self.selected_, L)

    def proba_of(self, predictor: str, L: np.ndarray) -> np.ndarray:
        """(N, K) probabilities of one predictor; majority vote: the tied winners share 1, no votes uniform."""
        L = np.asarray(L)
        if predictor == "label_model":
            return np.concatenate([self.label_model_.predict_proba(L[start:start + PREDICT_CHUNK])
                                   for start in range(0, len(L), PREDICT_CHUNK)] or
                                  [np.zeros((0, self.cardinality))])
        shares = vote_shares(L, self.cardinality)
        shares[~covered(L)] = 1 / self.cardinality
        return shares

    def predict_of(self, predictor: str, L: np.ndarray) -> np.ndarray:
        """Most probable area of each paper by one predictor (`label_model` or `majority_vote`), -1 without votes."""
        proba = self.proba_of(predictor, L)
        if predictor == "majority_vote":  # break ties by the prior
            proba = proba + 1e-9 * self.class_balance_
        return np.where(covered(L), proba.argmax(axis=1), ABSTAIN)
