"""Scoring predictions against gold labels: accuracy, macro-F1, per-area report, confusion matrix, calibration."""

from evaluation.calibration import expected_calibration_error, reliability_diagram, reliability_table
from evaluation.metrics import ABSTAIN, Scores, score
from evaluation.split import split_by_id

__all__ = [
    "ABSTAIN",
    "Scores",
    "expected_calibration_error",
    "reliability_diagram",
    "reliability_table",
    "score",
    "split_by_id",
]
