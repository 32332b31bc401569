"""paper_areas/core: one-line user errors, Ctrl-C and SIGTERM on real predict.py and `python -m paper_areas.dumps`
processes, atomic outputs (command-line outputs, the embedding cache) that never replace an input, go into missing
folders, leave nothing when they cannot be finished and whose stale temporaries the next run removes; the run
environment's launcher."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from paper_areas.core import UserError, atomic_output, fail_cleanly, write_output
from paper_areas.core.environment import RUN_ENVIRONMENT

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
    result = stop_midway([sys.executable, "-m", "paper_areas.dumps", str(source), "--output", str(output)],
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
            if command == "predict" else ["-m", "paper_areas.dumps", str(source), "--output", str(output)])
    result = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"error: {output}: is the input {source}; writing there would replace it "
                             "(choose another output)\n")
    assert source.read_bytes() == content and not list(tmp_path.glob(".*.part"))


KEYWORD_TAXONOMY = """name: keywords
areas:
  - {slug: graphs, name: Learning on graphs, description: Graphs., keywords: [{group: g, terms: [graph]}]}
  - {slug: language, name: Natural language, description: Text., keywords: [{group: l, terms: [language]}]}
  - {slug: vision, name: Computer vision, description: Images., keywords: [{group: v, terms: [image]}]}
"""


@pytest.mark.parametrize("case", ["evaluate json=gold", "lfs csv=dump", "lfs json=taxonomy", "lfs csv=json",
                                  "lfs csv=folder", "evaluate json=folder", "predict output=folder",
                                  "init-taxonomy output under a file"])
def test_an_output_that_is_an_input_or_a_folder_is_refused_before_any_work(keyword_model, tmp_path, monkeypatch,
                                                                            capsys, case):
    import predict
    import train

    monkeypatch.chdir(tmp_path)
    dump = graph_dump(tmp_path / "dump.jsonl", 3)
    (tmp_path / "gold.jsonl").write_text(
        json.dumps({"id": "1", "title": "Graph paper", "abstract": "Nodes.", "label": "graphs"}) + "\n")
    (tmp_path / "keywords.yaml").write_text(KEYWORD_TAXONOMY)
    (tmp_path / "areas.csv").write_text("name,description\nA,a\nB,b\n")
    (tmp_path / "out.jsonl").mkdir()
    before = {path: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    lfs = ["lfs", "--dumps", "dump.jsonl", "--taxonomy", "keywords.yaml"]
    evaluate = ["evaluate", "--model", "models:/absent/1", "--gold", "gold.jsonl", "--taxonomy", "keywords.yaml"]
    tool, argv, message = {
        "evaluate json=gold": (train, [*evaluate, "--json", "gold.jsonl"], "gold.jsonl: is the input gold.jsonl"),
        "lfs csv=dump": (train, [*lfs, "--csv", "dump.jsonl"], "dump.jsonl: is the input dump.jsonl"),
        "lfs json=taxonomy": (train, [*lfs, "--json", "keywords.yaml"], "keywords.yaml: is the input keywords.yaml"),
        "lfs csv=json": (train, [*lfs, "--csv", "x.json", "--json", "x.json"], "x.json: is both --csv and --json"),
        "lfs csv=folder": (train, [*lfs, "--csv", "out.jsonl"], "out.jsonl: is a folder"),
        "evaluate json=folder": (train, [*evaluate, "--json", "out.jsonl"], "out.jsonl: is a folder"),
        "predict output=folder": (predict, ["--input", "dump.jsonl", "--output", "out.jsonl", "--model",
                                            str(keyword_model)], "out.jsonl: is a folder"),
        "init-taxonomy output under a file": (train, ["init-taxonomy", "--areas", "areas.csv", "--name", "x",
                                                      "--output", "dump.jsonl/x.yaml"],
                                              f"dump.jsonl/x.yaml: cannot create its folder: {dump} is a file"),
    }[case]
    assert fail_cleanly(lambda: tool.main(argv)) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err.startswith(f"error: {message}") and printed.err.count("\n") == 1
    assert {path: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()} == before
    assert list((tmp_path / "out.jsonl").iterdir()) == []


def test_outputs_in_missing_folders_are_written_there(keyword_model, tmp_path, monkeypatch):
    import train

    monkeypatch.chdir(tmp_path)
    graph_dump(tmp_path / "dump.jsonl", 3)
    (tmp_path / "gold.jsonl").write_text(
        json.dumps({"id": "1", "title": "Graph paper", "abstract": "Nodes.", "label": "graphs"}) + "\n")
    (tmp_path / "keywords.yaml").write_text(KEYWORD_TAXONOMY)
    (tmp_path / "areas.csv").write_text("name,description\nA,a\nB,b\n")
    for argv in (["lfs", "--dumps", "dump.jsonl", "--taxonomy", "keywords.yaml", "--json", "new/lfs/figures.json"],
                 ["evaluate", "--model", str(keyword_model), "--gold", "gold.jsonl", "--taxonomy", "keywords.yaml",
                  "--json", "new/evaluate/scores.json"],
                 ["init-taxonomy", "--areas", "areas.csv", "--name", "x", "--output", "new/taxonomy/x.yaml"]):
        assert train.main(argv) == 0
    written = sorted(str(path.relative_to(tmp_path)) for path in (tmp_path / "new").rglob("*") if path.is_file())
    assert written == ["new/evaluate/scores.json", "new/lfs/figures.json", "new/lfs/figures.lf_table.csv",
                       "new/taxonomy/x.yaml"]
    assert json.loads((tmp_path / "new/lfs/figures.json").read_text())["n_papers"] == 3
    assert json.loads((tmp_path / "new/evaluate/scores.json").read_text())["n_papers"] == 1


def _with_file_size_limit(limit: int) -> Callable[[], None]:
    def limit_file_size() -> None:
        """In the child before exec: files of at most `limit` bytes, as on a full disk (writing more fails with
        EFBIG instead of killing the process)."""
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


@pytest.mark.parametrize("command", ["lfs", "evaluate"])
def test_an_output_that_cannot_be_finished_leaves_no_file(keyword_model, tmp_path, command):
    graph_dump(tmp_path / "dump.jsonl", 3)
    (tmp_path / "gold.jsonl").write_text(
        json.dumps({"id": "1", "title": "Graph paper", "abstract": "Nodes.", "label": "graphs"}) + "\n")
    (tmp_path / "keywords.yaml").write_text(KEYWORD_TAXONOMY)
    argv = {"lfs": ["lfs", "--dumps", "dump.jsonl", "--csv", "new/lfs/table.csv"],
            "evaluate": ["evaluate", "--model", str(keyword_model), "--gold", "gold.jsonl"]}[command]
    output = {"lfs": "new/lfs/table.csv", "evaluate": "new/evaluate/scores.json"}[command]
    done = subprocess.run([sys.executable, str(REPO / "train.py"), *argv, "--taxonomy", "keywords.yaml",
                           *(["--json", output] if command == "evaluate" else [])],
                          cwd=tmp_path, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, capture_output=True,
                          text=True, timeout=300, preexec_fn=_with_file_size_limit(64))
    assert done.returncode == 2 and done.stderr.endswith(f"error: {output}: cannot write: File too large\n")
    assert "Traceback" not in done.stderr
    assert (tmp_path / output).parent.is_dir() and list((tmp_path / "new").rglob("*.*")) == []


def test_write_output_writes_text_as_utf8_and_bytes_as_they_are_into_missing_folders(tmp_path):
    write_output(tmp_path / "a" / "b" / "text.txt", "étiquette\n")
    write_output(tmp_path / "c" / "bytes.png", b"\x89PNG\x00\xff")
    assert (tmp_path / "a/b/text.txt").read_bytes() == "étiquette\n".encode()
    assert (tmp_path / "c/bytes.png").read_bytes() == b"\x89PNG\x00\xff"
    with pytest.raises(UserError, match=r"/file/x.txt: cannot write: File exists$"):
        (tmp_path / "file").write_text("")
        write_output(tmp_path / "file" / "x.txt", "x")


def test_the_embedding_cache_is_written_atomically_and_cleans_up_after_killed_runs(tmp_path):
    import numpy as np

    from models.embeddings import EmbeddingCache, text_hashes

    folder = tmp_path / "missing" / "cache"
    hashes, vectors = text_hashes(["a", "b"]), np.eye(2, dtype=np.float32)
    EmbeddingCache(folder, "key").add(hashes[:1], vectors[:1])
    stale = folder / f".key.npz.{dead_pid()}.x1y2.part"
    stale.write_bytes(b"half an npz")
    EmbeddingCache(folder, "key").add(hashes, vectors)
    assert sorted(path.name for path in folder.iterdir()) == ["key.npz"]
    cache = EmbeddingCache(folder, "key")
    rows, missing = cache.lookup(hashes)
    assert not missing.any() and np.array_equal(cache.vectors(rows), vectors)


def test_the_run_environment_launcher_sets_the_defaults_the_user_has_not_set():
    env = {key: value for key, value in os.environ.items() if key not in RUN_ENVIRONMENT} | {"HF_HUB_OFFLINE": "0"}
    done = subprocess.run([sys.executable, "-m", "paper_areas.core.environment", "env"], env=env,
                          capture_output=True, text=True, timeout=60)
    printed = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert done.returncode == 0 and printed["HF_HUB_OFFLINE"] == "0"  # the user's value is kept
    assert {key: printed[key] for key in RUN_ENVIRONMENT if key != "HF_HUB_OFFLINE"} == {
        key: value for key, value in RUN_ENVIRONMENT.items() if key != "HF_HUB_OFFLINE"}
