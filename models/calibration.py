"""Calibration of an end model's probabilities (temperature scaling, top-label isotonic and logistic maps, per-area
offsets), the maps a run without gold ships, and the ECE measured cross-fitted on gold."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import ClassVar

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_softmax, logit
from sklearn.isotonic import IsotonicRegression

from models.evaluation import expected_calibration_error

LOG_TEMPERATURE_BOUNDS = (-3.0, 3.0)  # temperatures from 0.05 to 20


def _log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(probabilities, dtype=float), 1e-12, None))


def _gold_indices(probabilities: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`probabilities` (N, K) and gold area indices `y` (N,) as arrays, checked to match (top-label fits)."""
    probabilities, y = np.asarray(probabilities, dtype=float), np.asarray(y)
    if y.ndim != 1 or len(y) != len(probabilities):
        raise ValueError(f"{len(probabilities)} probability rows need as many gold area indices")
    return probabilities, y


def _with_top_probability(probabilities: np.ndarray, top_map: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Each row's top probability replaced by `top_map` of it, the other areas keeping their proportions and sharing
    the rest. The top area never changes: where the map would put it below the runner-up, it is raised to tie the
    runner-up, plus a hair."""
    probabilities = np.asarray(probabilities, dtype=float)
    rows, top = np.arange(len(probabilities)), probabilities.argmax(axis=1)
    first = probabilities[rows, top]
    second = np.partition(probabilities, -2, axis=1)[:, -2] if probabilities.shape[1] > 1 else 0 * first
    tie = second / np.clip(1.0 - first + second, 1e-12, None)  # the top probability at which the two tie
    calibrated = np.maximum(top_map(first), tie + 1e-9).clip(max=1.0)
    result = probabilities * ((1.0 - calibrated) / np.clip(1.0 - first, 1e-12, None))[:, None]
    result[rows, top] = calibrated
    return result


class Calibrator:
    """What calibrates an end model: fitted on (probabilities, gold), applied to probabilities, saved as its state
    (by default its dataclass fields, which `calibrator_from_state` passes back to `__init__`)."""

    KIND: ClassVar[str]

    def fit(self, probabilities: np.ndarray, y: np.ndarray) -> Calibrator:
        raise NotImplementedError

    def transform(self, probabilities: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def state(self) -> dict:
        return asdict(self)


@dataclass
class TemperatureScaling(Calibrator):
    """Divide the log-probabilities by one temperature T fitted to minimise the cross-entropy on labelled papers.
    `fit(probabilities, y)` takes gold area indices, or soft labels (e.g. the label model's on training papers
    held out from the end model's fit) when there is no gold. T > 1 softens an over-confident model; the top-1
    area never changes."""

    KIND: ClassVar[str] = "temperature"
    temperature: float = 1.0

    def fit(self, probabilities: np.ndarray, y: np.ndarray) -> TemperatureScaling:
        logits = _log_probabilities(probabilities)
        y = np.asarray(y)  # gold area indices (N,) or soft labels (N, K)
        targets = y / y.sum(axis=1, keepdims=True) if y.ndim == 2 else np.eye(logits.shape[1])[y.astype(int)]
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


@dataclass
class TopLabelIsotonic(Calibrator):
    """Map the top probability (`confidence`) to the accuracy of papers with that confidence: an isotonic
    regression of "top area is right" on the top probability, fitted on gold area indices. The top area never
    changes; the other areas share the rest (`_with_top_probability`)."""

    KIND: ClassVar[str] = "isotonic"
    confidences: list[float] = field(default_factory=lambda: [0.0, 1.0])  # the fitted step function's knots
    accuracies: list[float] = field(default_factory=lambda: [0.0, 1.0])

    def fit(self, probabilities: np.ndarray, y: np.ndarray) -> TopLabelIsotonic:
        probabilities, y = _gold_indices(probabilities, y)
        regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        regression.fit(probabilities.max(axis=1), probabilities.argmax(axis=1) == y)
        self.confidences = regression.X_thresholds_.tolist()
        self.accuracies = regression.y_thresholds_.tolist()
        return self

    def transform(self, probabilities: np.ndarray) -> np.ndarray:
        return _with_top_probability(probabilities, lambda top: np.interp(top, self.confidences, self.accuracies))


@dataclass
class TopLabelLogistic(Calibrator):
    """Map the top probability p to sigmoid(slope * logit(p) + intercept), fitted (maximum likelihood) to "top area is
    right" on gold area indices: a two-parameter, smooth top-label map (Platt scaling of `confidence`).
    Its two numbers carry from one taxonomy to another where a step function fitted to one gold set does not, which
    is what a run without gold uses (`models.registry.NO_GOLD_MAPS`). The other areas share the rest."""

    KIND: ClassVar[str] = "logistic"
    slope: float = 1.0
    intercept: float = 0.0

    def fit(self, probabilities: np.ndarray, y: np.ndarray) -> TopLabelLogistic:
        probabilities, y = _gold_indices(probabilities, y)
        log_odds, right = _top_log_odds(probabilities.max(axis=1)), probabilities.argmax(axis=1) == y

        def loss(parameters: np.ndarray) -> float:
            scores = parameters[0] * log_odds + parameters[1]
            return float(np.mean(np.logaddexp(0.0, scores) - right * scores))  # the log loss of sigmoid(scores)

        self.slope, self.intercept = (float(value) for value in minimize(loss, np.array([1.0, 0.0])).x)
        return self

    def transform(self, probabilities: np.ndarray) -> np.ndarray:
        return _with_top_probability(probabilities, lambda top: expit(self.slope * _top_log_odds(top) + self.intercept))


def _top_log_odds(top: np.ndarray) -> np.ndarray:
    return logit(np.clip(top, 1e-6, 1 - 1e-6))


OFFSET_RIDGE = 1e-3  # keeps the offset of an area with no gold paper finite; looked at on dev (BENCHMARKS.md)


@dataclass
class ClassOffsets(Calibrator):
    """Add one offset per area to the log-probabilities, fitted (maximum likelihood, a weak ridge) on gold area
    indices: it moves a model trained on weak labels to the class balance of the papers gold comes from.
    Unlike the other calibrators it can change the top area, so the scores of a model it calibrates are measured
    cross-fitted (`cross_fitted_ece`'s `calibrated`), never on the gold it was fitted on."""

    KIND: ClassVar[str] = "class_offsets"
    offsets: list[float] = field(default_factory=list)  # one per area, set by `fit`

    def fit(self, probabilities: np.ndarray, y: np.ndarray) -> ClassOffsets:
        probabilities, y = _gold_indices(probabilities, y)
        logits, n_areas = _log_probabilities(probabilities), probabilities.shape[1]
        frequencies = np.bincount(y.astype(int), minlength=n_areas) / len(y)

        def loss(offsets: np.ndarray) -> tuple[float, np.ndarray]:
            log_q = log_softmax(logits + offsets, axis=1)
            value = -log_q[np.arange(len(y)), y.astype(int)].mean() + OFFSET_RIDGE * (offsets**2).sum()
            return float(value), np.exp(log_q).mean(axis=0) - frequencies + 2 * OFFSET_RIDGE * offsets

        self.offsets = minimize(loss, np.zeros(n_areas), jac=True, method="L-BFGS-B").x.tolist()
        return self

    def transform(self, probabilities: np.ndarray) -> np.ndarray:
        """(N, K) probabilities with the offsets added to their logarithms, renormalised."""
        logits = _log_probabilities(probabilities)
        if len(self.offsets) != logits.shape[1]:
            raise ValueError(f"class offsets fitted for {len(self.offsets)} areas applied to {logits.shape[1]} "
                             "(an unfitted ClassOffsets has none)")
        return np.exp(log_softmax(logits + np.asarray(self.offsets), axis=1))


@dataclass
class CalibrationChain(Calibrator):
    """Calibrators applied in turn, each fitted on the output of the ones before it (e.g. per-area offsets, then a
    top-label isotonic map of `confidence`)."""

    KIND: ClassVar[str] = "chain"
    steps: list = field(default_factory=list)

    def fit(self, probabilities: np.ndarray, y: np.ndarray) -> CalibrationChain:
        for step in self.steps:
            probabilities = step.fit(probabilities, y).transform(probabilities)
        return self

    def transform(self, probabilities: np.ndarray) -> np.ndarray:
        for step in self.steps:
            probabilities = step.transform(probabilities)
        return probabilities

    def state(self) -> dict:
        return {"steps": [{"kind": step.KIND, **step.state()} for step in self.steps]}


# The confidence maps a config or `train.py calibrate` names (`ClassOffsets` is switched on apart, before one of them).
CALIBRATORS: dict[str, type] = {kind.KIND: kind for kind in (TemperatureScaling, TopLabelIsotonic, TopLabelLogistic)}


def new_calibrator(kind: str, class_offsets: bool = False) -> Calibrator:
    """An unfitted calibrator: the confidence map `kind` (or "none"), after per-area offsets when `class_offsets`."""
    steps = ([ClassOffsets()] if class_offsets else []) + ([CALIBRATORS[kind]()] if kind != "none" else [])
    if not steps:
        raise ValueError("nothing to calibrate: kind 'none' without class offsets")
    return steps[0] if len(steps) == 1 else CalibrationChain(steps)


# Every calibrator a saved model can hold, by its KIND.
SAVED_CALIBRATORS: dict[str, type] = CALIBRATORS | {kind.KIND: kind for kind in (ClassOffsets, CalibrationChain)}


def calibrator_from_state(saved: dict) -> Calibrator:
    """A calibrator saved as `{"kind": KIND, **state()}` (a chain's steps saved the same way)."""
    state = {key: value for key, value in saved.items() if key != "kind"}
    if saved["kind"] not in SAVED_CALIBRATORS:
        raise ValueError(f"unknown calibrator kind {saved['kind']!r} (known: {', '.join(SAVED_CALIBRATORS)})")
    if saved["kind"] == CalibrationChain.KIND:
        state["steps"] = [calibrator_from_state(step) for step in state["steps"]]
    return SAVED_CALIBRATORS[saved["kind"]](**state)


@dataclass(frozen=True)
class CrossFitted:
    """ECE of a model on gold before and after calibration fitted on the other half, with both calibrators."""

    ece_before: float
    ece_after: float
    calibrators: tuple[Calibrator, Calibrator]  # fitted on half A (applied to B), fitted on half B (applied to A)
    calibrated: np.ndarray  # each paper's probabilities calibrated by the half it is not in: its held-out prediction


def cross_fitted_ece(probabilities: np.ndarray, y: np.ndarray, half_a: np.ndarray,
                     calibrator: Callable[[], Calibrator] = TemperatureScaling) -> CrossFitted:
    """Calibrate (a new `calibrator()` each time) on half A and measure on half B, and the reverse; the ECE over all
    papers of both measurements."""
    probabilities, y, half_a = np.asarray(probabilities, dtype=float), np.asarray(y, dtype=int), np.asarray(half_a)
    if not half_a.any() or half_a.all():
        raise ValueError("both halves need papers")
    calibrated = np.empty_like(probabilities)
    fitted = []
    for fit_on in (half_a, ~half_a):
        fitted.append(calibrator().fit(probabilities[fit_on], y[fit_on]))
        calibrated[~fit_on] = fitted[-1].transform(probabilities[~fit_on])
    return CrossFitted(ece_before=expected_calibration_error(probabilities, y),
                       ece_after=expected_calibration_error(calibrated, y),
                       calibrators=(fitted[0], fitted[1]), calibrated=calibrated)
