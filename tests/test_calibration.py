"""Temperature scaling, top-label isotonic and logistic calibration, per-area offsets and chains, expected calibration
error, cross-fitting on two halves, the reliability diagram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit, logit, softmax

from models import (
    CalibrationChain,
    ClassOffsets,
    TemperatureScaling,
    TopLabelIsotonic,
    TopLabelLogistic,
    cross_fitted_ece,
    new_calibrator,
)
from models.calibration import calibrator_from_state
from models.evaluation import expected_calibration_error, reliability_diagram, reliability_table, split_by_id


def calibrated_model(n: int, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a model and labels drawn from its own softmax: a perfectly calibrated model."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, k))
    y = np.array([rng.choice(k, p=p) for p in softmax(logits, axis=1)])
    return logits, y


def test_ece_of_known_bins() -> None:
    probabilities = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    y = np.array([0, 0, 1, 1])  # bin (0.8667, 0.9333]: conf 0.9, acc 1; bin (0.5333, 0.6]: conf 0.6, acc 0.5
    assert expected_calibration_error(probabilities, y) == pytest.approx((2 * 0.1 + 2 * 0.1) / 4)
    table = reliability_table(probabilities, y)
    assert len(table) == 15 and table["papers"].sum() == 4
    assert table.loc[table["papers"] == 2, "accuracy"].tolist() == [0.5, 1.0]


def test_temperature_scaling_lowers_ece_of_an_over_confident_model() -> None:
    logits, y = calibrated_model(4000)
    over_confident = softmax(3 * logits, axis=1)
    scaler = TemperatureScaling().fit(over_confident[:2000], y[:2000])
    assert scaler.temperature == pytest.approx(3, rel=0.15)
    before = expected_calibration_error(over_confident[2000:], y[2000:])
    after = expected_calibration_error(scaler.transform(over_confident[2000:]), y[2000:])
    assert before > 0.15 and after < 0.04
    calibrated = scaler.transform(over_confident)
    np.testing.assert_allclose(calibrated.sum(axis=1), 1)
    np.testing.assert_array_equal(calibrated.argmax(axis=1), over_confident.argmax(axis=1))


def test_temperature_scaling_fits_soft_labels() -> None:
    logits, _ = calibrated_model(2000, seed=1)
    soft_targets = softmax(logits, axis=1)  # the label distribution the over-confident model should match
    scaler = TemperatureScaling().fit(softmax(2 * logits, axis=1), soft_targets)
    assert scaler.temperature == pytest.approx(2, rel=0.01)


def test_top_label_isotonic_calibrates_a_miscalibrated_model_that_no_temperature_fixes() -> None:
    # Over-confident where confident, under-confident where not: one temperature cannot fix both.
    logits, y = calibrated_model(6000, seed=4)
    calibrated = softmax(logits, axis=1)
    top = calibrated.max(axis=1, keepdims=True)
    distorted = softmax(np.where(top > 0.5, 3.0, 0.6) * logits, axis=1)
    fit, held_out = slice(0, 3000), slice(3000, None)
    isotonic = TopLabelIsotonic().fit(distorted[fit], y[fit])
    temperature = TemperatureScaling().fit(distorted[fit], y[fit])
    before = expected_calibration_error(distorted[held_out], y[held_out])
    after = expected_calibration_error(isotonic.transform(distorted[held_out]), y[held_out])
    with_temperature = expected_calibration_error(temperature.transform(distorted[held_out]), y[held_out])
    assert before > 0.15 and after < 0.05 and after < 0.6 * with_temperature  # measured: 0.18, 0.036, 0.080
    result = isotonic.transform(distorted)
    np.testing.assert_allclose(result.sum(axis=1), 1)
    np.testing.assert_array_equal(result.argmax(axis=1), distorted.argmax(axis=1))  # the top area stays
    shared = result.max(axis=1) < 1  # where the top does not take everything, the rest keep their proportions
    others = np.sort(distorted[shared], axis=1)[:, :-1], np.sort(result[shared], axis=1)[:, :-1]
    np.testing.assert_allclose(others[1] / others[1].sum(axis=1, keepdims=True),
                               others[0] / others[0].sum(axis=1, keepdims=True))
    saved = calibrator_from_state({"kind": isotonic.KIND, **isotonic.state()})
    np.testing.assert_array_equal(saved.transform(distorted), result)


def test_top_label_isotonic_keeps_the_top_area_where_the_fitted_accuracy_is_below_the_runner_up() -> None:
    isotonic = TopLabelIsotonic(confidences=[0.0, 1.0], accuracies=[0.05, 0.05])  # "never right"
    result = isotonic.transform(np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]]))
    assert (result.argmax(axis=1) == 0).all() and result[0, 0] == pytest.approx(0.3 / 0.8)
    np.testing.assert_allclose(result.sum(axis=1), 1)


def top_label_model(n: int, k: int, slope: float, intercept: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities whose top area is right with probability sigmoid(slope * logit(top) + intercept), and gold."""
    rng = np.random.default_rng(seed)
    top = rng.uniform(1.5 / k, 0.99, n)
    rest = rng.dirichlet(np.ones(k - 1), n) * (1 - top)[:, None]
    probabilities = np.column_stack([top, np.minimum(rest, top[:, None] * 0.999)])
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    right = rng.random(n) < expit(slope * logit(probabilities[:, 0]) + intercept)
    return probabilities, np.where(right, 0, rng.integers(1, k, n))


def test_top_label_logistic_recovers_its_map_and_carries_to_another_number_of_areas() -> None:
    # The same over-confidence (right far less often than the top probability says) on 21 areas and on 16.
    fit_on, other = (top_label_model(6000, k, slope=0.35, intercept=-0.3, seed=k) for k in (21, 16))
    logistic = TopLabelLogistic().fit(*fit_on)
    assert logistic.slope == pytest.approx(0.35, abs=0.05) and logistic.intercept == pytest.approx(-0.3, abs=0.08)
    before = expected_calibration_error(*other)
    after = expected_calibration_error(logistic.transform(other[0]), other[1])
    assert before > 0.12 and after < 0.03
    result = logistic.transform(other[0])
    np.testing.assert_allclose(result.sum(axis=1), 1)
    np.testing.assert_array_equal(result.argmax(axis=1), other[0].argmax(axis=1))
    saved = calibrator_from_state({"kind": logistic.KIND, **logistic.state()})
    np.testing.assert_array_equal(saved.transform(other[0]), result)


def test_class_offsets_move_a_model_trained_on_another_class_balance_to_golds() -> None:
    # A calibrated model whose log-probabilities are shifted per area, as a model trained on papers of another
    # class balance is: offsets fitted on one half recover the shift (up to a constant) and the accuracy on the other.
    logits, y = calibrated_model(6000, k=5, seed=5)
    shift = np.array([1.5, 0.0, -1.0, 0.5, -1.0])
    shifted = softmax(logits + shift, axis=1)
    fit, held_out = slice(0, 3000), slice(3000, None)
    offsets = ClassOffsets().fit(shifted[fit], y[fit])
    recovered = np.array(offsets.offsets)
    np.testing.assert_allclose(recovered - recovered.mean(), -(shift - shift.mean()), atol=0.15)
    accuracy = {name: (p[held_out].argmax(axis=1) == y[held_out]).mean()
                for name, p in [("shifted", shifted), ("offsets", offsets.transform(shifted)),
                                ("true", softmax(logits, axis=1))]}
    assert accuracy["shifted"] < accuracy["true"] - 0.05 and accuracy["offsets"] > accuracy["true"] - 0.01
    np.testing.assert_allclose(offsets.transform(shifted).sum(axis=1), 1)
    # An area with no gold paper keeps a finite offset: it is pushed down, not removed.
    missing = ClassOffsets().fit(shifted[fit][y[fit] != 4], y[fit][y[fit] != 4])
    assert np.isfinite(missing.offsets).all() and missing.offsets[4] < min(missing.offsets[:4])


def test_a_chain_of_offsets_and_isotonic_fits_each_step_on_the_last_ones_output_and_saves() -> None:
    logits, y = calibrated_model(6000, k=5, seed=6)
    shifted_over_confident = softmax(2.5 * logits + np.array([1.5, 0.0, -1.0, 0.5, -1.0]), axis=1)
    fit, held_out = slice(0, 3000), slice(3000, None)
    chain = new_calibrator("isotonic", class_offsets=True).fit(shifted_over_confident[fit], y[fit])
    assert isinstance(chain, CalibrationChain) and [step.KIND for step in chain.steps] == ["class_offsets", "isotonic"]
    offsets = ClassOffsets().fit(shifted_over_confident[fit], y[fit])
    isotonic = TopLabelIsotonic().fit(offsets.transform(shifted_over_confident[fit]), y[fit])
    result = chain.transform(shifted_over_confident[held_out])
    np.testing.assert_allclose(result, isotonic.transform(offsets.transform(shifted_over_confident[held_out])))
    assert expected_calibration_error(result, y[held_out]) < 0.04
    assert expected_calibration_error(shifted_over_confident[held_out], y[held_out]) > 0.1
    saved = calibrator_from_state({"kind": chain.KIND, **chain.state()})
    np.testing.assert_array_equal(saved.transform(shifted_over_confident[held_out]), result)
    assert isinstance(new_calibrator("isotonic"), TopLabelIsotonic)
    assert isinstance(new_calibrator("none", class_offsets=True), ClassOffsets)
    with pytest.raises(ValueError, match="nothing to calibrate"):
        new_calibrator("none")
    with pytest.raises(ValueError, match="fitted for 0 areas applied to 5"):
        ClassOffsets().transform(shifted_over_confident[held_out])
    with pytest.raises(ValueError, match="unknown calibrator kind 'platt'"):
        calibrator_from_state({"kind": "platt"})


def test_cross_fitted_ece_calibrates_each_half_with_the_other() -> None:
    logits, y = calibrated_model(3000, seed=2)
    over_confident = softmax(2.5 * logits, axis=1)
    half_a = np.arange(3000) % 2 == 0
    result = cross_fitted_ece(over_confident, y, half_a)
    assert result.ece_before > 0.1 and result.ece_after < 0.04
    for fit_on, applied_to, scaler in ((half_a, ~half_a, result.calibrators[0]),
                                       (~half_a, half_a, result.calibrators[1])):
        temperature = scaler.temperature
        expected = TemperatureScaling(temperature).transform(over_confident[applied_to])
        np.testing.assert_allclose(result.calibrated[applied_to], expected)
        assert temperature == pytest.approx(TemperatureScaling().fit(over_confident[fit_on], y[fit_on]).temperature)
    with pytest.raises(ValueError, match="both halves need papers"):
        cross_fitted_ece(over_confident, y, np.ones(3000, dtype=bool))


def test_split_by_id_is_a_fixed_half_per_paper() -> None:
    ids = [f"iclr2025:{i}" for i in range(2000)]
    mask = split_by_id(ids)
    assert 0.45 < mask.mean() < 0.55
    assert [split_by_id([paper_id])[0] for paper_id in ids[:50]] == mask[:50].tolist()  # no dependence on others
    assert split_by_id(["a", "e", "f", "g"]).tolist() == [True, False, False, False]  # sha256 bytes ca 3f 25 cd


def test_reliability_diagram_draws_one_line_per_model(tmp_path: Path) -> None:
    logits, y = calibrated_model(500, seed=3)
    figure = reliability_diagram({"raw": (softmax(3 * logits, axis=1), y), "calibrated": (softmax(logits, axis=1), y)})
    (axes,) = figure.axes
    labels = [line.get_label() for line in axes.get_lines()]
    assert labels[0] == "perfect calibration" and len(labels) == 3
    assert labels[1].startswith("raw (ECE 0.") and labels[2].startswith("calibrated (ECE 0.")
    figure.savefig(tmp_path / "reliability.png")
    assert (tmp_path / "reliability.png").stat().st_size > 1000
