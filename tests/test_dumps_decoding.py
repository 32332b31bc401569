"""Lenient decoding (issue 11): a stray byte that is not UTF-8 becomes U+FFFD and its paper is kept and counted as
repaired; only a file that is mostly not text (binary) is refused, by `python -m paper_areas.dumps` and predict.py
alike."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paper_areas.dumps import DumpError, read_dumps
from paper_areas.dumps.reader import LONE_SURROGATES, MAX_NOT_TEXT_SHARE, NOT_UTF8, SNIFF_BYTES

REPO = Path(__file__).resolve().parents[1]
REPAIRED = f"1 repaired (1 {NOT_UTF8})"
LATIN1_E = b"\xe9"  # "é" in Latin-1: never valid UTF-8 on its own


def spoil_line(source: bytes, number: int, old: bytes, new: bytes) -> bytes:
    """`source` with the first `old` in line `number` (1-based) replaced by `new`."""
    lines = source.split(b"\n")
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return b"\n".join(lines)


def by_line(papers) -> dict[int, dict]:
    """Each paper's fields (but its source) by the line it starts on."""
    return {int(paper.source.rsplit(":", 1)[1]): paper.to_dict() | {"source": None} for paper in papers}


def hf_daily(sample_dumps) -> bytes:
    return sample_dumps[1].read_bytes()


def conference(sample_dumps) -> bytes:
    return sample_dumps[3].read_bytes()


JSONL = (b'{"title": "Graph networks", "abstract": "Nodes."}\n{"title": "Caf\xc3\xa9 vision", "abstract": "Pixels."}\n'
         b'{"title": "Language models", "abstract": "Text."}\n')
CSV = (b'title,abstract\nGraph networks,Nodes.\n"Caf\xc3\xa9 vision","Pixels,\nover two lines."\n'
       b"Language models,Text.\n")
ABSTRACT_LINES = b"Abstract: Graph networks.\nAbstract: Caf\xc3\xa9 vision.\nAbstract: Language models.\n"


# (name, clean bytes, line to spoil, bytes there to replace, source line of the repaired paper)
CASES = [
    # the brief's case: a Latin-1 byte in line 21 (a title) of a daily-papers page
    ("hf.txt", hf_daily, 21, b"Network", b"Netw" + LATIN1_E + b"rk", 21),
    # a bad byte in the date line of an author block: the entry it closes (title on line 13) is the repaired one
    ("hf-date.txt", hf_daily, 19, b"Apr 1", b"Apr" + LATIN1_E + b" 1", 13),
    # a bad byte in an authors line of the conference listing: the paper titled on line 4
    ("conference.txt", conference, 5, b"Zhenhui", b"Zh" + LATIN1_E + b"nhui", 4),
    ("dump.jsonl", lambda _: JSONL, 2, b"\xc3\xa9", LATIN1_E, 2),
    # the second line of a quoted CSV field spanning two lines: the row starting on line 3
    ("dump.csv", lambda _: CSV, 4, b"over", b"\xffover", 3),
    ("dump.txt", lambda _: ABSTRACT_LINES, 2, b"\xc3\xa9", LATIN1_E, 2),
]


@pytest.mark.parametrize(("name", "clean", "line", "old", "new", "repaired_at"), CASES,
                         ids=[case[0] for case in CASES])
def test_one_bad_byte_repairs_one_paper_and_keeps_every_other(sample_dumps, tmp_path, name, clean, line, old, new,
                                                              repaired_at):
    source = clean(sample_dumps)
    good, bad = tmp_path / "clean" / name, tmp_path / name
    good.parent.mkdir()
    good.write_bytes(source)
    bad.write_bytes(spoil_line(source, line, old, new))
    expected = by_line(read_dumps([good]))
    reading = read_dumps([bad])
    papers = by_line(reading)
    assert papers.keys() == expected.keys()
    assert [line for line in papers if papers[line] != expected[line]] == [repaired_at]
    assert "\ufffd" in json.dumps(papers[repaired_at], ensure_ascii=False)
    report = reading.files[0]
    assert report.repaired == {NOT_UTF8: 1} and not report.skipped
    assert report.describe() == f"{bad}: {report.format}, {len(expected)} entries, 0 skipped, {REPAIRED}"


def test_repairs_count_entries_not_lines_and_a_skipped_entry_only_as_skipped(tmp_path):
    path = tmp_path / "dump.txt"  # one daily-papers entry with two bad lines, then one that is skipped
    path.write_bytes(b"Daily Papers\n\nT\xe9tle\n\nAbstr\xe9ct.\n\n  \xe2\x80\xa2 2 authors\n\xc2\xb7\nMay 2\xe9\n\n"
                     b"  \xe2\x80\xa2 3 auth\xe9rs x\n\xc2\xb7\n\nNext title\n\nNext abstract.\n")
    reading = read_dumps([path])
    assert [(paper.title, paper.abstract, paper.date_text) for paper in reading] == [
        ("T\ufffdtle", "Abstr\ufffdct.", "May 2\ufffd"), ("Next title", "Next abstract.", "")]
    assert reading.files[0].describe() == (f"{path}: hf-daily, 2 entries, 1 skipped "
                                           f"(1 author block without title and abstract), {REPAIRED}")


def test_a_gzip_dump_is_judged_on_its_decompressed_bytes(tmp_path):
    path = tmp_path / "dump.jsonl.gz"
    path.write_bytes(gzip.compress(spoil_line(JSONL, 2, b"\xc3\xa9", LATIN1_E)))
    reading = read_dumps([path])
    assert [paper.title for paper in reading] == ["Graph networks", "Caf\ufffd vision", "Language models"]
    assert reading.files[0].describe() == f"{path}: jsonl, 3 entries, 0 skipped, {REPAIRED}"
    binary = tmp_path / "binary.gz"
    binary.write_bytes(gzip.compress(b"\x00" * 100))
    with pytest.raises(DumpError, match=r"binary.gz:1: not UTF-8 text \(binary\?\): 100% of its first 100 bytes"):
        list(read_dumps([binary]))


def test_the_share_of_bytes_that_are_not_text_decides_on_the_first_sample(tmp_path):
    def abstract_line(bad_bytes: int) -> bytes:  # 100 bytes with `bad_bytes` Latin-1 bytes
        return b"Abstract: " + LATIN1_E * bad_bytes + b"x" * (89 - bad_bytes) + b"\n"

    allowed = round(100 * MAX_NOT_TEXT_SHARE)
    at_limit, over = tmp_path / "at-limit.txt", tmp_path / "over.txt"
    at_limit.write_bytes(abstract_line(allowed))
    over.write_bytes(abstract_line(allowed + 1))
    reading = read_dumps([at_limit])
    assert [paper.abstract for paper in reading] == ["\ufffd" * allowed + "x" * (89 - allowed)]
    assert reading.files[0].repaired == {NOT_UTF8: 1}
    with pytest.raises(DumpError) as caught:
        list(read_dumps([over]))
    assert str(caught.value) == f"{over}:1: not UTF-8 text (binary?): {allowed + 1}% of its first 100 bytes are " \
                                "control bytes or not UTF-8"
    late = tmp_path / "late.txt"  # bad bytes after the sample do not refuse the file: they are repaired
    late.write_bytes(b"Abstract: fine\n" * (SNIFF_BYTES // 15 + 1) + b"Abstract: \xff\xfe\xfd\n")
    reading = read_dumps([late])
    assert len(list(reading)) == 2 and reading.files[0].repaired == {NOT_UTF8: 1}


def run_dumps(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "paper_areas.dumps", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("content", "message"), [
    (b"Abstract: fine\n" + b"\x00" * 985, ":2: not UTF-8 text (binary?): 98% of its first 1,000 bytes are control "
                                          "bytes or not UTF-8"),
    ("Abstract: UTF-16 text\n".encode("utf-16"), ":1: not UTF-8 text (binary?): 52% of its first 46 bytes are "
                                                 "control bytes or not UTF-8"),
    (bytes(range(128, 256)) * 4, ":1: not UTF-8 text (binary?): 100% of its first 512 bytes are control bytes or "
                                 "not UTF-8"),
], ids=["nul-after-text", "utf-16", "high-bytes"])
def test_cli_refuses_a_binary_file_with_one_line_and_exit_2(tmp_path, content, message):
    path, output = tmp_path / "dump.txt", tmp_path / "papers.jsonl"
    path.write_bytes(content)
    done = run_dumps(path, "--output", output)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"error: {path}{message}\n")
    assert not output.exists() and list(tmp_path.iterdir()) == [path]


def test_cli_keeps_and_reports_a_repaired_paper(tmp_path):
    path, output = tmp_path / "dump.jsonl", tmp_path / "papers.jsonl"
    path.write_bytes(spoil_line(JSONL, 2, b"\xc3\xa9", LATIN1_E))
    done = run_dumps(path, "--output", output)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [f"{path}: jsonl, 3 entries, 0 skipped, {REPAIRED}",
                                        "3 distinct papers, 0 duplicates dropped"]
    titles = [json.loads(line)["title"] for line in output.read_text(encoding="utf-8").splitlines()]
    assert titles == ["Graph networks", "Caf\ufffd vision", "Language models"]


def test_predict_writes_every_row_and_reports_the_repaired_paper(tfidf_registry, tmp_path):
    path, output = tmp_path / "dump.jsonl", tmp_path / "predictions.jsonl"
    path.write_bytes(spoil_line(JSONL, 2, b"\xc3\xa9", LATIN1_E))
    done = subprocess.run([sys.executable, str(REPO / "predict.py"), "--input", str(path), "--output", str(output)],
                          cwd=REPO, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "MLFLOW_TRACKING_URI": tfidf_registry})
    assert done.returncode == 0, done.stderr
    assert f"{path}: jsonl, 3 entries, 0 skipped, {REPAIRED}" in done.stderr.splitlines()
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["title"] for row in rows] == ["Graph networks", "Caf\ufffd vision", "Language models"]
    assert all(row["area"] for row in rows)


def test_a_lone_surrogate_escape_is_repaired_and_counted(tmp_path):
    path, output = tmp_path / "dump.jsonl", tmp_path / "papers.jsonl"
    path.write_bytes(b'{"title": "x\\ud800y", "abstract": "ok", "authors": ["A\\udfff"]}\n'
                     b'{"title": "Pair \\ud83d\\ude00"}\n{"title": "Fine"}\n')
    reading = read_dumps([path])
    assert [(paper.title, paper.authors) for paper in reading] == [
        ("x\ufffdy", ("A\ufffd",)), ("Pair \U0001f600", ()), ("Fine", ())]
    assert reading.files[0].describe() == f"{path}: jsonl, 3 entries, 0 skipped, 1 repaired (1 {LONE_SURROGATES})"
    done = run_dumps(path, "--output", output)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(output.read_text(encoding="utf-8").splitlines()[0])["title"] == "x\ufffdy"
