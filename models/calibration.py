"""Temperature scaling of an end model's probabilities, and its ECE measured cross-fitted on gold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from evaluation import expected_calibration_error

LOG_TEMPERATURE_BOUNDS = (-3.0, 3.0)  # temperatures from 0.05 to 20


def _log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(probabilities, dtype=float), 1e-12, None))


def _targets(y: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, K) target distributions from area indices (N,) or soft labels (N, K)."""
    y = np.asarray(y)
    if y.ndim == 2:
        return y / y.sum(axis=1, keepdims=True)
    return np.eye(n_classes)[y.astype(int)]


@dataclass
class TemperatureScaling:
    """Divide the log-probabilities by one temperature T fitted to minimise the cross-entropy on labelled papers.

    `fit(probabilities, y)` takes gold area indices, or soft labels (e.g. the label model's on training papers
    held out from the end model's fit) when there is no gold. T > 1 softens an over-confident model; the top-1
    area never changes.
    """

    temperature: float = 1.0

    def fit(self, probabilities: np.ndarray, y: np.ndarray) -> TemperatureScaling:
        logits = _log_probabilities(probabilities)
        targets = _targets(y, logits.shape[1])
        if len(logits) != len(targets):
            raise ValueError(f"{len(logits)} probability rows but {len(targets)} labels")

        def loss(log_temperature: float) -> float:
            return float(-(targets * log_softmax(logits / np.exp(log_temperature), axis=1)).sum(axis=1).mean())

        result = minimize_scalar(loss, bounds=LOG_TEMPERATURE_BOUNDS, method="bounded")
        self.temperature = float(np.exp(result.x))
        return self

    def transform(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated (N, K) probabilities."""
        return np.exp(log_softmax(_log_probabilities(probabilities) / self.temperature, axis=1))


@dataclass(frozen=True)
class CrossFitted:
    """ECE of a model on gold before and after calibration fitted on the other half, with both temperatures."""

    ece_before: float
    ece_after: float
    temperatures: tuple[float, float]  # fitted on half A (applied to B), fitted on half B (applied to A)
    calibrated: np.ndarray  # each paper's probabilities calibrated by the half it is not in


def cross_fitted_ece(probabilities: np.ndarray, y: np.ndarray, half_a: np.ndarray) -> CrossFitted:
    """Calibrate on half A and measure on half B, and the reverse; the ECE over all papers of both measurements."""
    probabilities, y, half_a = np.asarray(probabilities, dtype=float), np.asarray(y, dtype=int), np.asarray(half_a)
    if not half_a.any() or half_a.all():
        raise ValueError("both halves need papers")
    calibrated = np.empty_like(probabilities)
    temperatures = []
    for fit_on in (half_a, ~half_a):
        scaler = TemperatureScaling().fit(probabilities[fit_on], y[fit_on])
        calibrated[~fit_on] = scaler.transform(probabilities[~fit_on])
        temperatures.append(scaler.temperature)
    return CrossFitted(
        ece_before=expected_calibration_error(probabilities, y),
        ece_after=expected_calibration_error(calibrated, y),
        temperatures=(temperatures[0], temperatures[1]),
        calibrated=calibrated,
    )
