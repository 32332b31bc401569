"""cli/: one-line user errors, Ctrl-C and SIGTERM on real predict.py and `python -m dumps` processes, atomic outputs
that never replace an input and whose stale temporaries the next run removes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli import UserError, atomic_output, fail_cleanly

REPO = Path(__file__).resolve().parents[1]


def graph_dump(path: Path, papers: int) -> Path:
    with path.open("w") as stream:
        for number in range(papers):
            stream.write(json.dumps({"id": str(number), "title": f"Graph paper {number}", "abstract": "Nodes."}) + "\n")
    return path


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _as_from_a_terminal() -> None:
    """In the child before exec: Ctrl-C's default action, as a command typed at a terminal has it (a shell starts
    background jobs, e.g. a CI runner's, with SIGINT ignored, and Python then leaves it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_midway(command: list[str], temporaries: str, folder: Path, signum: int,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `command`, send `signum` once a temporary output file matching `temporaries` in `folder` has bytes."""
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=_as_from_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while not any(part.stat().st_size for part in folder.glob(temporaries)):
            assert process.poll() is None and time.monotonic() < deadline, "the run ended before the signal"
            time.sleep(0.05)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_fail_cleanly_turns_errors_and_sigterm_into_one_line_and_an_exit_status(capsys):
    def raise_user_error() -> int:
        raise UserError("dump.txt:3: bad thing")

    def terminate_self() -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises in the main thread before this ends
        return 0

    previous = signal.getsignal(signal.SIGTERM)
    assert fail_cleanly(raise_user_error) == 2
    assert capsys.readouterr().err == "error: dump.txt:3: bad thing\n"
    started = time.monotonic()
    assert fail_cleanly(terminate_self) == 143 and time.monotonic() - started < 4
    assert capsys.readouterr().err == "terminated\n"
    assert signal.getsignal(signal.SIGTERM) is previous  # restored after main returns
    with pytest.raises(ZeroDivisionError):  # a bug is not the user's to fix: its traceback stays
        fail_cleanly(lambda: 1 // 0)


def test_sigterm_during_predict_leaves_no_temporary_and_exits_143(keyword_model, tmp_path):
    source = graph_dump(tmp_path / "dump.jsonl", 2000)
    output = tmp_path / "predictions.parquet"
    result = stop_midway([sys.executable, "predict.py", "--input", str(source), "--output", str(output),
                          "--model", str(keyword_model), "--batch-size", "10"], ".predictions.parquet.*.part",
                         tmp_path, signal.SIGTERM, env={"KEYWORD_MODEL_DELAY": "0.05"})
    assert result.returncode == 143 and result.stderr.splitlines()[-1] == "terminated"
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dump.jsonl"]


@pytest.mark.parametrize("signum, status, message", [(signal.SIGINT, 130, "interrupted"),
                                                     (signal.SIGTERM, 143, "terminated")])
def test_ctrl_c_or_sigterm_during_python_m_dumps_is_one_line_and_leaves_no_file(tmp_path, signum, status, message):
    source = graph_dump(tmp_path / "dump.jsonl", 500_000)  # seconds of reading even on a quiet machine
    output = tmp_path / "papers.jsonl"
    result = stop_midway([sys.executable, "-m", "dumps", str(source), "--output", str(output)],
                         ".papers.jsonl.*.part", tmp_path, signum)
    assert (result.returncode, result.stderr, result.stdout) == (status, f"{message}\n", "")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dump.jsonl"]


def test_the_next_run_removes_temporaries_of_killed_runs_only(tmp_path):
    output = tmp_path / "papers.jsonl"
    stale = tmp_path / f".papers.jsonl.{dead_pid()}.x1y2.part"
    running = tmp_path / f".papers.jsonl.{os.getpid()}.a1b2.part"  # this process is alive: maybe still writing
    other = tmp_path / f".other.jsonl.{dead_pid()}.c3d4.part"
    for path in (stale, running, other):
        path.write_text("partial")
    with atomic_output(output) as temp:
        temp.write_text("done\n")
    assert output.read_text() == "done\n" and oct(output.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())
    assert not stale.exists() and running.exists() and other.exists()
    with pytest.raises(RuntimeError), atomic_output(output) as temp:
        temp.write_text("half")
        raise RuntimeError("boom")
    assert output.read_text() == "done\n" and sorted(tmp_path.iterdir()) == sorted([output, running, other])


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@pytest.mark.parametrize("command, alias", [("dumps", "same"), ("dumps", "other-path"), ("dumps", "symlink"),
                                            ("dumps", "hardlink"), ("predict", "same"), ("predict", "symlink")])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(keyword_model, tmp_path, command, alias):
    source = graph_dump(tmp_path / "dump.jsonl", 3)
    content = source.read_bytes()
    (tmp_path / "sub").mkdir()
    output = {"same": source, "other-path": tmp_path / "sub" / ".." / "dump.jsonl",
              "symlink": tmp_path / "link.jsonl", "hardlink": tmp_path / "hard.jsonl"}[alias]
    if alias == "symlink":
        output.symlink_to(source)
    if alias == "hardlink":
        os.link(source, output)
    args = (["predict.py", "--input", str(source), "--output", str(output), "--model", str(keyword_model)]
            if command == "predict" else ["-m", "dumps", str(source), "--output", str(output)])
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"error: {output}: is the input {source}; writing there would replace it "
                             "(choose another output)\n")
    assert source.read_bytes() == content and not list(tmp_path.glob(".*.part"))
