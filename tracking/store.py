"""Where runs go: one rule for every entry point, and artifacts beside the SQLite store.

The rule: MLFLOW_TRACKING_URI when set, else the repo's `sqlite:///mlruns.db`. `python -m tracking` prints the
resolved URI, so the Makefile (`make ui`, `make serve`) asks this module instead of writing the rule again.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cli import UserError

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"  # relative to the repo
DEFAULT_ARTIFACT_ROOT = "mlartifacts"  # relative to the store's folder
_SQLITE = "sqlite:///"
_SCHEMES = ("sqlite:", "http:", "https:", "postgresql", "mysql", "databricks")


class StoreError(UserError):
    """A tracking URI that is not a database or server; the message names where it came from."""


def _absolute_sqlite(uri: str, base: Path) -> str:
    path = uri[len(_SQLITE):]
    if uri.startswith(_SQLITE) and path and not path.startswith("/") and path != ":memory:":
        return _SQLITE + str((base / path).resolve())
    return uri


def repo_store_uri(root: Path = REPO) -> str:
    """The store when MLFLOW_TRACKING_URI is unset: `sqlite:///<root>/mlruns.db`."""
    return _absolute_sqlite(DEFAULT_TRACKING_URI, root)


def resolve_tracking_uri(tracking_uri: str = DEFAULT_TRACKING_URI, root: Path = REPO) -> str:
    """MLFLOW_TRACKING_URI when set (a relative SQLite path taken from the working directory, as MLflow does),
    else `tracking_uri` (a relative SQLite path taken from `root`, the repo by default); always absolute."""
    from_environment = os.environ.get("MLFLOW_TRACKING_URI")
    if from_environment:
        uri, where = _absolute_sqlite(from_environment, Path.cwd()), "MLFLOW_TRACKING_URI"
    else:
        uri, where = _absolute_sqlite(tracking_uri, root), "mlflow.tracking_uri"
    if not uri.startswith(_SCHEMES):
        raise StoreError(f"{where}: {uri!r} is not a database or server URI (use sqlite:///...)")
    return uri


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of an absolute `sqlite:///` URI; None for servers and other databases."""
    return Path(tracking_uri[len(_SQLITE):]) if tracking_uri.startswith(_SQLITE) else None


def artifact_location(tracking_uri: str, artifact_root: str = DEFAULT_ARTIFACT_ROOT) -> str | None:
    """Where a new experiment keeps its artifacts: an absolute `artifact_root` as given, a relative one in the
    folder of the SQLite store; None (the server decides) for a relative root on a tracking server."""
    root = Path(artifact_root).expanduser()
    database = sqlite_path(tracking_uri)
    if not root.is_absolute():
        if database is None:
            return None
        root = database.parent / root
    return root.resolve().as_uri()


def connect(tracking_uri: str, artifact_root: str, experiment: str, root: Path = REPO) -> str:
    """Point MLflow at the store and return the experiment id, creating it with its artifacts beside the store."""
    import mlflow  # here, so that resolving the URI (`python -m tracking`) does not load MLflow

    uri = resolve_tracking_uri(tracking_uri, root)
    mlflow.set_tracking_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        mlflow.set_experiment(experiment_id=found.experiment_id)
        return found.experiment_id
    experiment_id = mlflow.create_experiment(experiment, artifact_location=artifact_location(uri, artifact_root))
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
