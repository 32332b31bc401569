"""MLflow: store set-up, run logging, model registration and the champion alias.

Names are imported on first use, so that `python -m paper_areas.tracking` (which `make ui` and `make serve` run
to learn the store) answers without loading MLflow and matplotlib.
"""

from __future__ import annotations

from paper_areas.core.lazy import lazy_names

__all__, __getattr__ = lazy_names(__name__, {
    "paper_areas.tracking.artifacts": ["log_confusion_matrix", "log_figure", "log_frame", "log_label_distribution"],
    "paper_areas.tracking.registry": ["Registration", "RegistryError", "SourceScore", "champion_version",
                                      "load_failure", "register_and_promote", "registered_version", "require_model"],
    "paper_areas.tracking.runs": ["tracked_run"],
    "paper_areas.tracking.store": ["DEFAULT_ARTIFACT_ROOT", "DEFAULT_TRACKING_URI", "StoreError", "artifact_location",
                                   "champion_uri", "connect", "git_commit", "mask_credentials", "repo_store_uri",
                                   "resolve_tracking_uri", "sqlite_path"],
})
