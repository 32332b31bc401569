"""Scoring predictions against gold labels: accuracy, macro-F1, per-area report, confusion matrix, calibration."""

from models.evaluation.calibration import expected_calibration_error, reliability_diagram, reliability_table
from models.evaluation.metrics import ABSTAIN, Scores, score
from models.evaluation.split import split_by_id

__all__ = [
    "ABSTAIN",
    "Scores",
    "expected_calibration_error",
    "reliability_diagram",
    "reliability_table",
    "score",
    "split_by_id",
]
