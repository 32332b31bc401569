"""MLflow: store set-up, run logging, model registration and the champion alias."""

from tracking.artifacts import log_confusion_matrix, log_frame, log_label_distribution
from tracking.registry import Registration, register_and_promote
from tracking.store import connect, git_commit, resolve_tracking_uri

__all__ = [
    "Registration",
    "connect",
    "git_commit",
    "log_confusion_matrix",
    "log_frame",
    "log_label_distribution",
    "register_and_promote",
    "resolve_tracking_uri",
]
