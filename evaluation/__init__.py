"""Scoring predictions against gold labels: accuracy, macro-F1, per-area report, confusion matrix."""

from evaluation.metrics import ABSTAIN, Scores, score

__all__ = ["ABSTAIN", "Scores", "score"]
