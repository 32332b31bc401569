"""Where runs go, one rule for every entry point: MLFLOW_TRACKING_URI when set, else the config's
`mlflow.tracking_uri` (by default the repo's `sqlite:///mlruns.db`); artifacts beside the SQLite store. The Makefile
asks `python -m paper_areas.tracking [--config FILE]`, which prints the resolved URI, instead of writing the rule again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from paper_areas.core import UserError
from paper_areas.core.environment import REPO

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"  # relative to the repo
DEFAULT_ARTIFACT_ROOT = "mlartifacts"  # relative to the store's folder
_SQLITE = "sqlite:///"
_SCHEMES = ("sqlite:", "http:", "https:", "postgresql", "mysql", "databricks")
# the user info of a URI (`scheme://USER:PASSWORD@host`) and a secret in its query (`?password=...`)
_USER_INFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:?#\s]*)(?P<password>:[^/?#\s]*)?@")
_QUERY_SECRET = re.compile(r"(?P<key>[?&](?:password|passwd|pwd|secret|token|access_key|api_key)=)[^&#\s]*",
                           re.IGNORECASE)
MASK = "***"


class StoreError(UserError):
    """A tracking URI that is not a database or server; the message names where it came from."""


def mask_credentials(text: str) -> str:
    """`text` with the credentials of every URI in it masked: `postgresql://admin:***@host/db` (a user name alone,
    often a token, becomes `***`), and `password=`, `token=`, ... query values."""
    def user_info(match: re.Match) -> str:
        user = "" if match["password"] is None else f"{match['user']}:"
        return f"{match['scheme']}{user}{MASK}@"

    return _QUERY_SECRET.sub(lambda match: match["key"] + MASK, _USER_INFO.sub(user_info, text))


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
        raise StoreError(f"{where}: {mask_credentials(uri)!r} is not a database or server URI (use sqlite:///...)")
    return uri


def champion_uri(registered_model: str, alias: str) -> str:
    """The registry URI of a registered model's version under `alias`: `models:/NAME@ALIAS`."""
    return f"models:/{registered_model}@{alias}"


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of an absolute `sqlite:///` URI; None for servers and other databases."""
    return Path(tracking_uri[len(_SQLITE):]) if tracking_uri.startswith(_SQLITE) else None


def artifact_location(tracking_uri: str, artifact_root: str = DEFAULT_ARTIFACT_ROOT) -> str | None:
    """Where a new experiment keeps its artifacts: an absolute `artifact_root` as given, a relative one in the
    folder of the SQLite store; None (the server decides) for a relative root on a tracking server."""
    root = Path(artifact_root).expanduser()
    database = sqlite_path(tracking_uri)
    if not root.is_absolute() and database is None:
        return None
    return (database.parent / root if database else root).resolve().as_uri()


@contextlib.contextmanager
def _store_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive lock on the folder of a SQLite store (nothing for other stores): processes that set up the
    same new store (MLflow creates its tables on first use) or the same new experiment do it one after the other."""
    database = sqlite_path(tracking_uri)
    if database is None:
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)  # as SQLite would
    folder = os.open(database.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # releases the lock


def connect(tracking_uri: str, artifact_root: str, experiment: str, root: Path = REPO) -> str:
    """Point MLflow at the store and return the experiment id, creating it with its artifacts beside the store.

    Safe when another process connects at the same time: a SQLite store is set up under a lock, and an experiment
    another process created first (any store) is used."""
    import mlflow  # here, so that resolving the URI (`python -m paper_areas.tracking`) does not load MLflow

    uri = resolve_tracking_uri(tracking_uri, root)
    mlflow.set_tracking_uri(uri)
    with _store_lock(uri):
        experiment_id = _experiment_id(experiment, artifact_location(uri, artifact_root))
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def _experiment_id(experiment: str, location: str | None) -> str:
    """The id of the experiment named `experiment` in MLflow's store, created (artifacts at `location`) if need be."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        if (found := mlflow.get_experiment_by_name(experiment)) is None:
            return mlflow.create_experiment(experiment, artifact_location=location)
    except MlflowException:
        found = mlflow.get_experiment_by_name(experiment)  # another process created it in the meantime
        if found is None:
            raise
    return found.experiment_id


def git_commit(root: Path) -> str:
    """The checked-out commit, with `-dirty` when the tree has changes; `unknown` outside git."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10)
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
