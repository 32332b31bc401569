"""Runs that know their process: a run is tagged with the host, pid and start time of the process that made it, so
that a later run can finish the runs of processes that were killed (SIGKILL leaves a run RUNNING) and remove the
temporary files (model copies) they left."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

HOST_TAG = "process.host"
PID_TAG = "process.pid"
START_TAG = "process.start"
_TEMPORARY_PREFIX = "paper-areas-run-"


def _process_start(pid: int) -> str | None:
    """What tells process `pid` from a later one given the same pid: its start time (clock ticks after boot, from
    /proc; "" where there is no /proc); None when no process has that pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        if Path("/proc/self/stat").exists():
            return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process
        pass
    return ""


def _gone(host: str, pid: str, start: str) -> bool:
    """Whether the process `pid` started at `start` on `host` is known to be gone (only this host's can be known)."""
    return host == socket.gethostname() and pid.isdigit() and _process_start(int(pid)) != start


def fail_runs_of_gone_processes(experiment_id: str) -> list[str]:
    """Mark FAILED the RUNNING runs of the experiment whose process (on this host) is gone; their ids."""
    client = MlflowClient()
    failed = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'"):
        tags = run.data.tags
        host, pid, start = tags.get(HOST_TAG, ""), tags.get(PID_TAG, ""), tags.get(START_TAG, "")
        if _gone(host, pid, start):
            client.set_tag(run.info.run_id, "error", f"process {pid} on {host} ended without finishing the run "
                                                     "(killed); marked FAILED by a later run")
            client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FAILED))
            failed.append(run.info.run_id)
    return failed


def remove_temporaries_of_gone_processes() -> None:
    """Remove the temporary folders (`_TEMPORARY_PREFIX`PID-START-HOST-...) of this host's processes that are gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_TEMPORARY_PREFIX}*"):
        pid, _, rest = folder.name.removeprefix(_TEMPORARY_PREFIX).partition("-")
        start, _, rest = rest.partition("-")
        if _gone(rest.rpartition("-")[0], pid, start):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def tracked_run(experiment_id: str, run_name: str) -> Iterator[mlflow.ActiveRun]:
    """`mlflow.start_run` in the experiment, tagged with this process; first the runs and temporary folders of killed
    processes are cleared up (and said on stderr). Every temporary file of the process (the copies of a model MLflow
    and the end model write while a run logs it) goes to a folder named after it, removed at the end, or by a later
    run when the process is killed."""
    failed = fail_runs_of_gone_processes(experiment_id)
    if failed:
        print(f"marked FAILED {len(failed)} run(s) whose process was killed: {', '.join(failed)}", file=sys.stderr)
    remove_temporaries_of_gone_processes()
    host, pid = socket.gethostname(), os.getpid()
    start = _process_start(pid) or ""
    folder = Path(tempfile.mkdtemp(prefix=f"{_TEMPORARY_PREFIX}{pid}-{start}-{host}-"))
    previous, tempfile.tempdir = tempfile.tempdir, str(folder)
    try:
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name,
                              tags={HOST_TAG: host, PID_TAG: str(pid), START_TAG: start}) as run:
            yield run
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)
