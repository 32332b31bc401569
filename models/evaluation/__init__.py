"""Scoring predictions against gold labels: accuracy, macro-F1, per-area report, confusion matrix, calibration."""

from models.evaluation.calibration import expected_calibration_error, reliability_diagram, reliability_table
from models.evaluation.metrics import Scores, score, split_by_id

__all__ = ["Scores", "expected_calibration_error", "reliability_diagram", "reliability_table", "score", "split_by_id"]
