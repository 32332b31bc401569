"""How far confidence is from accuracy: expected calibration error and the reliability diagram."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

N_BINS = 15


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
