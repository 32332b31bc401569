"""Labellers combining LF votes into probabilistic labels: Snorkel's LabelModel and majority vote, one interface."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from snorkel.labeling.model import LabelModel

from labeling.lfs import ABSTAIN

PRIORS = ("estimate", "uniform")
PREDICT_CHUNK = 20_000  # rows a LabelModel predicts at once: its one-hot matrix is rows x (LFs x areas) floats
MIN_LABEL_MODEL_LFS = 3  # Snorkel's LabelModel needs at least this many LFs


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


@dataclass(eq=False)
class Labeler:
    """What the labellers share: a class balance (the given `class_balance`, else the gold label frequencies, else
    `prior`: `uniform` or estimated from the votes) and `predict`. Subclasses implement `_fit` and `predict_proba`,
    and name themselves (`NAME`: the predictor's name in logs and gold scores)."""

    NAME = ""
    cardinality: int
    class_balance: np.ndarray | None = None
    prior: str = "uniform"

    def fit(self, L: np.ndarray, y_gold: np.ndarray | None = None) -> Labeler:
        """Fit on the (N, M) votes `L`; gold area indices `y_gold` (of other papers) only give the class balance."""
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {', '.join(PRIORS)}, not {self.prior!r}")
        L = np.asarray(L)
        balance = self.class_balance
        if balance is None and y_gold is not None:
            balance = gold_class_balance(y_gold, self.cardinality)
        if balance is None:
            balance = (estimated_class_balance(L, self.cardinality) if self.prior == "estimate"
                       else np.full(self.cardinality, 1 / self.cardinality))
        self.class_balance_ = np.asarray(balance, dtype=float)
        self._fit(L)
        return self

    def _fit(self, L: np.ndarray) -> None:
        raise NotImplementedError

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, L: np.ndarray) -> np.ndarray:
        """Most probable area of each paper, ABSTAIN (-1) for papers without votes."""
        return np.where(covered(L), self._tie_broken(self.predict_proba(L)).argmax(axis=1), ABSTAIN)

    def _tie_broken(self, proba: np.ndarray) -> np.ndarray:
        return proba

    def score(self, L: np.ndarray, y: np.ndarray) -> float:
        """Accuracy of `predict(L)` against gold area indices `y`; abstains count as wrong."""
        return float(np.mean(self.predict(L) == np.asarray(y))) if len(y) else 0.0


@dataclass(eq=False, kw_only=True)
class LabelModelLabeler(Labeler):
    """Snorkel's LabelModel: LF accuracies learnt from their agreements, labels weighted by them.

    The defaults (lr 0.001, 100 epochs) stay near the initial, equal LF accuracies: on the real votes, whose LFs
    are correlated, that beat Snorkel's lr 0.01 (which learns the accuracies of independent LFs) by 2 points.
    Without gold, `prior` `uniform` (default) beat the estimate from the votes (`estimate`, pulled towards the areas
    with most LFs) by 1-2 points on the ICLR dev set (BENCHMARKS.md, "Which values were chosen on a dev set").

    Snorkel's LabelModel holds a dense rows x (LFs x areas) matrix, so it is fitted on at most `max_rows` rows
    (a uniform sample drawn with `seed`; None: all) and predicts in chunks of PREDICT_CHUNK rows. It needs at least
    MIN_LABEL_MODEL_LFS LFs (`fit` raises ValueError with fewer)."""

    NAME = "label_model"
    epochs: int = 100
    lr: float = 0.001
    l2: float = 0.0
    seed: int = 0
    max_rows: int | None = 50_000

    def _fit(self, L: np.ndarray) -> None:
        if L.shape[1] < MIN_LABEL_MODEL_LFS:
            raise ValueError(f"the label model needs at least {MIN_LABEL_MODEL_LFS} LFs, got {L.shape[1]}")
        if self.max_rows is not None and len(L) > self.max_rows:
            rows = np.random.default_rng(self.seed).choice(len(L), size=self.max_rows, replace=False)
            L = L[np.sort(rows)]
        self.label_model_ = LabelModel(cardinality=self.cardinality, verbose=False)
        self.label_model_.fit(L, class_balance=self.class_balance_.tolist(), n_epochs=self.epochs, lr=self.lr,
                              l2=self.l2, seed=self.seed, progress_bar=False)
        self.fit_rows_ = len(L)

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """(N, K) class probabilities (rows without votes: the class balance's shape, uninformative)."""
        L = np.asarray(L)
        return np.concatenate([self.label_model_.predict_proba(L[start:start + PREDICT_CHUNK])
                               for start in range(0, len(L), PREDICT_CHUNK)] or [np.zeros((0, self.cardinality))])


class MajorityVoteLabeler(Labeler):
    """Majority vote: the tied winners share 1 (no votes: uniform); `predict` breaks ties by the class balance, then
    by the lower index. Fitting only sets the class balance."""

    NAME = "majority_vote"

    def _fit(self, L: np.ndarray) -> None:
        """Nothing to learn from the votes."""

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        L = np.asarray(L)
        shares = vote_shares(L, self.cardinality)
        shares[~covered(L)] = 1 / self.cardinality
        return shares

    def _tie_broken(self, proba: np.ndarray) -> np.ndarray:
        return proba + 1e-9 * self.class_balance_
