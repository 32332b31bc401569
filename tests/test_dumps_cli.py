"""The `python -m dumps` command line: summary, --output, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dumps", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


def test_cli_summarises_seeds_and_writes_jsonl(tmp_path, sample_dumps):
    output = tmp_path / "papers.jsonl"
    done = run(*sample_dumps, "--output", output)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == f"{sample_dumps[0]}: abstract-lines, 10 entries, 0 skipped"
    assert lines[3] == f"{sample_dumps[3]}: conference, 285 entries, 0 skipped"
    assert lines[-1] == "446 distinct papers, 6 duplicates dropped"
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 446 and set(records[0]) >= {"id", "title", "abstract", "authors", "date", "source"}


def test_cli_reports_skipped_reasons(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"title": "a"}\nnope\nnope\n[]\n', encoding="utf-8")
    done = run(path)
    expected = f"{path}: jsonl, 1 entries, 3 skipped (2 invalid JSON, 1 JSON is not an object)"
    assert done.stdout.splitlines()[0] == expected


@pytest.mark.parametrize(("content", "args", "message"), [
    (None, (), ":1: cannot read: No such file or directory"),
    (b"", (), ":1: empty file"),
    (b"\x00\x01\x02 binary", (), ":1: not UTF-8 text (binary?): 30% of its first 10 bytes are control bytes"),
    (b"Abstract: ok\n" + bytes(range(128, 256)), (), ":2: not UTF-8 text (binary?)"),
    (b"a,b\n1,2\n", ("--format", "csv"), ":1: CSV header names no 'title' or 'abstract' column"),
])
def test_cli_fatal_problem_is_one_line_and_exit_2(tmp_path, content, args, message):
    path, output = tmp_path / "dump.txt", tmp_path / "out.jsonl"
    if content is not None:
        path.write_bytes(content)
    done = run(path, *args, "--output", output)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"error: {path}{message}") and done.stderr.count("\n") == 1
    assert not output.exists() and not list(tmp_path.glob("*.partial"))


def test_a_50_mb_line_is_skipped_with_bounded_memory(tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("w") as stream:
        stream.write(json.dumps({"title": "kept"}) + "\n")
        stream.write('{"title": "' + "x" * 50_000_000 + '"}\n')
    output = tmp_path / "papers.jsonl"
    measure = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "dumps", str(path), "--output",
                           str(output)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{path}: jsonl, 1 entries, 1 skipped (1 entry over 1,048,576 bytes)"
    assert int(lines[-1]) < 50_000  # peak KiB: the 50 MB line was never held in memory
    assert [json.loads(line)["title"] for line in output.read_text().splitlines()] == ["kept"]
