"""Where runs go: a local SQLite store with artifacts beside it, unless MLFLOW_TRACKING_URI says otherwise."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import mlflow

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def resolve_tracking_uri(tracking_uri: str, root: Path) -> str:
    """MLFLOW_TRACKING_URI wins; a relative `sqlite:///name.db` is taken relative to `root`."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or tracking_uri
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix):].startswith("/"):
        uri = prefix + str(root / uri[len(prefix):])
    if not uri.startswith(("sqlite:", "http:", "https:", "postgresql", "mysql", "databricks")):
        raise ValueError(f"mlflow.tracking_uri: {uri!r} is not a database or server URI (use sqlite:///...)")
    return uri


def connect(tracking_uri: str, artifact_root: str, experiment: str, root: Path) -> str:
    """Point MLflow at the store and return the experiment id, creating it with `artifact_root` if new."""
    mlflow.set_tracking_uri(resolve_tracking_uri(tracking_uri, root))
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        mlflow.set_experiment(experiment_id=found.experiment_id)
        return found.experiment_id
    artifacts = Path(artifact_root)
    if not artifacts.is_absolute():
        artifacts = root / artifacts
    experiment_id = mlflow.create_experiment(experiment, artifact_location=artifacts.resolve().as_uri())
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def git_commit(root: Path) -> str:
    """The checked-out commit, with `-dirty` when the tree has changes; `unknown` outside git."""
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
