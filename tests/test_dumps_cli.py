"""The `python -m paper_areas.dumps` command line: summary, --output, and one-line errors with exit status 2."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paper_areas.dumps", *map(str, args)], cwd=REPO, capture_output=True,
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
    assert [path.name for path in tmp_path.iterdir()] == ([] if content is None else ["dump.txt"])  # no temporary


def test_a_50_mb_line_is_skipped_with_bounded_memory(tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("w") as stream:
        stream.write(json.dumps({"title": "kept"}) + "\n")
        stream.write('{"title": "' + "x" * 50_000_000 + '"}\n')
    output = tmp_path / "papers.jsonl"
    measure = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "paper_areas.dumps", str(path),
                           "--output", str(output)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{path}: jsonl, 1 entries, 1 skipped (1 entry over 1,048,576 bytes)"
    assert int(lines[-1]) < 50_000  # peak KiB: the 50 MB line was never held in memory
    assert [json.loads(line)["title"] for line in output.read_text().splitlines()] == ["kept"]


def many_papers_jsonl(count: int = 1000) -> bytes:
    """`count` distinct papers, well over the 64 KiB the reader looks at to tell the format."""
    return "".join(json.dumps({"title": f"Paper {number}", "abstract": "An abstract. " * 8}) + "\n"
                   for number in range(count)).encode()


@pytest.mark.parametrize(("source", "compress", "args"), [
    ("-", False, ()), ("-", True, ()), ("-", False, ("--format", "jsonl")), ("/dev/stdin", False, ()),
    ("/dev/stdin", False, ("--format", "jsonl")),
], ids=["dash", "dash-gzip", "dash-format", "dev-stdin", "dev-stdin-format"])
def test_piped_input_is_read_whole_once(tmp_path, source, compress, args):
    content = many_papers_jsonl()
    assert len(content) > 2 * 64 * 1024
    output = tmp_path / "papers.jsonl"
    done = subprocess.run([sys.executable, "-m", "paper_areas.dumps", source, *args, "--output", str(output)], cwd=REPO,
                          input=gzip.compress(content) if compress else content, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    name = "<stdin>" if source == "-" else source
    assert done.stdout.decode().splitlines() == [f"{name}: jsonl, 1000 entries, 0 skipped",
                                                 "1000 distinct papers, 0 duplicates dropped"]
    assert output.read_bytes().count(b"\n") == 1000


def test_a_fifo_is_read_whole_once(tmp_path):
    source, fifo, output = tmp_path / "dump.jsonl", tmp_path / "dump.fifo", tmp_path / "papers.jsonl"
    source.write_bytes(many_papers_jsonl())
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", 'cat "$0" > "$1"', str(source), str(fifo)])
    reader = subprocess.Popen([sys.executable, "-m", "paper_areas.dumps", str(fifo), "--output", str(output)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = reader.communicate(timeout=60)
    finally:
        reader.kill()
        writer.kill()
    assert reader.returncode == 0, stderr
    assert stdout.splitlines()[-1] == "1000 distinct papers, 0 duplicates dropped"


def test_standard_input_named_twice_is_refused():
    done = subprocess.run([sys.executable, "-m", "paper_areas.dumps", "-", "-"], cwd=REPO, input="",
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: -: standard input is named twice; it can be read only once\n"


@pytest.mark.parametrize("with_output", [True, False])
def test_no_papers_is_refused_and_nothing_written(tmp_path, with_output):
    path, output = tmp_path / "dump.jsonl", tmp_path / "papers.jsonl"
    path.write_text('{"title": " "}\nnot json\n', encoding="utf-8")
    done = run(path, *(("--output", output) if with_output else ()))
    assert (done.returncode, done.stdout) == (2, "")
    report = f"{path}: jsonl, 0 entries, 2 skipped (1 no title or abstract, 1 invalid JSON)"
    assert done.stderr == f"error: no papers ({report})" + (f"; {output} not written" if with_output else "") + "\n"
    assert list(tmp_path.iterdir()) == [path]
