"""Scoring predictions against gold labels: accuracy, macro-F1, per-area report and confusion matrix (one scoring
function shared by the label model, majority vote and every end model); how far confidence is from accuracy (ECE,
reliability diagram); and the fixed split of a labelled set in two halves by a hash of the paper id: choose on half
A, report on half B."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from labeling import ABSTAIN

if TYPE_CHECKING:
    from matplotlib.figure import Figure

N_BINS = 15


@dataclass(frozen=True)
class Scores:
    """Gold scores of one predictor; abstains (-1) count as wrong."""

    accuracy: float
    macro_f1: float
    coverage: float
    n: int
    per_area: pd.DataFrame  # index: area names; columns precision, recall, f1, support
    confusion: np.ndarray  # (n_areas, n_areas + 1): rows gold, columns predicted, last column abstain

    def summary(self) -> dict[str, float]:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "coverage": self.coverage}


def score(y_true: np.ndarray, y_pred: np.ndarray, area_names: list[str]) -> Scores:
    """Score integer predictions (-1 = abstain) against integer gold labels over all areas."""
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"gold has {y_true.shape[0]} labels but predictions {y_pred.shape[0]}")
    n_areas = len(area_names)
    areas = list(range(n_areas))
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=areas, zero_division=0)
    per_area = pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support}, index=area_names)
    present = support > 0
    confusion = confusion_matrix(y_true, np.where(y_pred == ABSTAIN, n_areas, y_pred), labels=[*areas, n_areas])
    n = int(y_true.shape[0])
    return Scores(
        accuracy=float(np.mean(y_true == y_pred)) if n else 0.0,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        coverage=float(np.mean(y_pred != ABSTAIN)) if n else 0.0,
        n=n,
        per_area=per_area,
        confusion=confusion[:n_areas],
    )


def split_by_id(ids: Iterable[str], salt: str = "") -> np.ndarray:
    """Mask of half A: papers whose `salt` + id's SHA-256 starts with an even byte (stable across runs and
    machines; another salt, another split, independent of the first)."""
    return np.array([hashlib.sha256(f"{salt}{paper_id}".encode()).digest()[0] % 2 == 0 for paper_id in ids],
                    dtype=bool)


def reliability_table(probabilities: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """Per equal-width confidence bin (top-1 probability): papers, mean confidence and accuracy (empty bins kept)."""
    probabilities = np.asarray(probabilities, dtype=float)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(y, dtype=int)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)  # bins are (low, high]
    counts = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        return pd.DataFrame({
            "low": edges[:-1],
            "high": edges[1:],
            "papers": counts,
            "confidence": np.bincount(bins, weights=confidence, minlength=n_bins) / counts,
            "accuracy": np.bincount(bins, weights=correct, minlength=n_bins) / counts,
        })


def expected_calibration_error(probabilities: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE: the paper-weighted mean gap between confidence and accuracy over `n_bins` equal-width bins."""
    table = reliability_table(probabilities, y, n_bins)
    filled = table[table["papers"] > 0]
    if filled.empty:
        return 0.0
    gaps = (filled["confidence"] - filled["accuracy"]).abs()
    return float((gaps * filled["papers"]).sum() / filled["papers"].sum())


def reliability_diagram(curves: dict[str, tuple[np.ndarray, np.ndarray]], n_bins: int = N_BINS,
                        title: str = "Reliability on gold") -> Figure:
    """A figure of accuracy against confidence per bin, one line per name -> (probabilities, gold y), with ECEs."""
    from matplotlib.figure import Figure  # matplotlib only where a figure is drawn

    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect calibration")
    for name, (probabilities, y) in curves.items():
        table = reliability_table(probabilities, y, n_bins)
        filled = table[table["papers"] > 0]
        ece = expected_calibration_error(probabilities, y, n_bins)
        axes.plot(filled["confidence"], filled["accuracy"], marker="o", label=f"{name} (ECE {ece:.3f})")
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-1 probability)", ylabel="accuracy", title=title)
    axes.legend(loc="upper left")
    return figure
