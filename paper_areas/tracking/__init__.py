"""MLflow: store set-up, run logging, model registration and the champion alias.

Names are imported on first use, so that `python -m paper_areas.tracking` (which `make ui` and `make serve` run
to learn the store) answers without loading MLflow and matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = {
    "paper_areas.tracking.artifacts": ["log_confusion_matrix", "log_figure", "log_frame", "log_label_distribution"],
    "paper_areas.tracking.registry": ["Registration", "RegistryError", "SourceScore", "champion_version",
                                      "load_failure", "register_and_promote", "registered_version", "require_model"],
    "paper_areas.tracking.runs": ["tracked_run"],
    "paper_areas.tracking.store": ["DEFAULT_ARTIFACT_ROOT", "DEFAULT_TRACKING_URI", "StoreError", "artifact_location",
                                   "champion_uri", "connect", "git_commit", "mask_credentials", "repo_store_uri",
                                   "resolve_tracking_uri", "sqlite_path"],
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'paper_areas.tracking' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
