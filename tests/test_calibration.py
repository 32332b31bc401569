"""Temperature scaling, expected calibration error, cross-fitting on two halves, the reliability diagram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from evaluation import expected_calibration_error, reliability_diagram, reliability_table, split_by_id
from models import TemperatureScaling, cross_fitted_ece


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


def test_cross_fitted_ece_calibrates_each_half_with_the_other() -> None:
    logits, y = calibrated_model(3000, seed=2)
    over_confident = softmax(2.5 * logits, axis=1)
    half_a = np.arange(3000) % 2 == 0
    result = cross_fitted_ece(over_confident, y, half_a)
    assert result.ece_before > 0.1 and result.ece_after < 0.04
    for fit_on, applied_to, temperature in ((half_a, ~half_a, result.temperatures[0]),
                                            (~half_a, half_a, result.temperatures[1])):
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
