"""Reading dumps: the bundled seeds, every format, de-duplication and bad entries."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from paper_areas.dumps import FORMATS, DumpError, Paper, papers_frame, read_dumps
from paper_areas.dumps.formats import PARSERS, detect_format
from paper_areas.dumps.records import parse_date, stable_id

SEED_ENTRIES = {"000": 10, "001": 51, "002": 43, "003": 285, "004": 63}
SEED_FORMATS = {"000": "abstract-lines", "001": "hf-daily", "002": "hf-daily", "003": "conference", "004": "hf-daily"}


def read_all(paths, format=None):
    reading = read_dumps(paths, format)
    return list(reading), reading


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def seeds(sample_dumps):
    papers, reading = read_all(sample_dumps)
    return {paper.title or paper.abstract[:40]: paper for paper in papers}, reading


def test_seed_counts(seeds):
    papers, reading = seeds
    found = {Path(report.path).name[:3]: (report.format, report.entries) for report in reading.files}
    assert found == {name: (SEED_FORMATS[name], count) for name, count in SEED_ENTRIES.items()}
    assert all(not report.skipped for report in reading.files)
    assert sum(SEED_ENTRIES.values()) == 452
    assert (reading.distinct, reading.duplicates, len(papers)) == (446, 6, 446)


def test_seed_hf_daily_entries(seeds):
    papers, _ = seeds
    first = papers["Adversarial Transfer Learning for Punctuation Restoration"]
    assert first.abstract.startswith("Previous studies demonstrate that word embeddings")
    assert (first.date, first.date_text, first.authors) == ("2020-04-01", "Apr 1, 2020", ())
    assert first.source.endswith("001_48743c56da8dbc52.txt:13")
    upvoted = papers["A New Federated Learning Framework Against Gradient Inversion Attacks"]
    assert (upvoted.date, upvoted.date_text) == ("2024-12-09", "Dec 9, 2024")
    no_year = papers["Skywork UniPic: Unified Autoregressive Modeling for Visual Understanding and Generation"]
    assert (no_year.date, no_year.date_text) == (None, "Aug 5")
    for no_block in ("Enabling Flexible Multi-LLM Integration for Scalable Knowledge Aggregation",
                     "RAD: Towards Trustworthy Retrieval-Augmented Multi-modal Clinical Diagnosis"):
        assert papers[no_block].abstract and papers[no_block].date_text == ""
    assert not any(title in papers for title in ("new", "Subscribe", "Daily Papers", "Dec 9"))


def test_seed_conference_entries(seeds, sample_dumps):
    papers, _ = seeds
    first = papers["Real3D-Portrait: One-shot Realistic 3D Talking Portrait Synthesis"]
    assert first.authors[:3] == ("Zhenhui Ye", "Tianyun Zhong", "Yi Ren")
    assert first.abstract.startswith("One-shot 3D talking portrait generation")
    assert papers["Learning the greatest common divisor: explaining transformer predictions"].authors == (
        "François Charton",
    )
    split = papers["HyperAttention: Long-context Attention in Near-Linear Time"].abstract
    assert "named HyperAttention to address the computational challenges" in split
    assert papers["Pathologies of Predictive Diversity in Deep Ensembles"].abstract == ""
    conference = [paper for paper in papers.values() if paper.source.startswith(str(sample_dumps[3]))]
    titled = [paper for paper in conference if paper.title]
    assert len(titled) == 281 and all(paper.authors for paper in titled)
    untitled = sorted(paper.abstract[:29] for paper in conference if not paper.title)
    assert untitled == ["Machine learning algorithms a", "Temporal abstraction and effi",
                        "We introduce Transformer-VQ, ", "We propose a new approach to "]


def test_seed_abstract_lines(seeds, sample_dumps):
    papers, _ = seeds
    untitled = [paper for paper in papers.values() if paper.source.startswith(str(sample_dumps[0]))]
    assert len(untitled) == 10 and all(not paper.title and paper.abstract for paper in untitled)
    assert untitled[0].abstract.startswith("Multi-task-learning(MTL) is a multi-target optimization task.")
    assert untitled[0].id == stable_id("", untitled[0].abstract)


def test_jsonl_and_arxiv_snapshot(tmp_path):
    lines = [
        {"id": "p1", "title": "  A  Title ", "abstract": "Text.", "authors": ["Ann Lee", "Bo Wu"],
         "date": "2024-05-02", "label": "optimization"},
        {"id": "2101.00001", "title": "Arxiv\n  title", "abstract": "  Multi\nline  abstract. ",
         "authors": "C. Smith, D. Jones and E. Brown", "categories": "cs.LG", "update_date": "2021-01-04"},
        {"title": "Primary", "abstract": "x", "primary_area": "causal reasoning", "date": "May 2023"},
    ]
    path = write(tmp_path / "dump.data", "\n".join(json.dumps(line) for line in lines) + "\n\n")
    papers, reading = read_all([path])
    assert reading.files[0].format == "jsonl"
    assert papers[0] == Paper("p1", "A Title", "Text.", ("Ann Lee", "Bo Wu"), "2024-05-02", "2024-05-02",
                              f"{path}:1", "optimization")
    assert (papers[1].title, papers[1].abstract) == ("Arxiv title", "Multi line abstract.")
    assert papers[1].authors == ("C. Smith", "D. Jones", "E. Brown") and papers[1].date == "2021-01-04"
    assert (papers[2].label, papers[2].date, len(papers[2].id)) == ("causal reasoning", "2023-05", 16)
    assert papers[0].to_dict()["authors"] == ["Ann Lee", "Bo Wu"]


def test_csv_header_case_insensitive(tmp_path):
    text = 'ID,Title,ABSTRACT,Authors\n7,First,"An abstract,\nover two lines.",Ann Lee; Bo Wu\n8,Second,B,\n\n'
    papers, reading = read_all([write(tmp_path / "table.txt", text)])
    assert reading.files[0].format == "csv"
    assert [(paper.id, paper.title, paper.source[-1]) for paper in papers] == [("7", "First", "2"),
                                                                              ("8", "Second", "4")]
    assert papers[0].abstract == "An abstract, over two lines." and papers[0].authors == ("Ann Lee", "Bo Wu")


def test_gzip_is_detected_by_magic_bytes(tmp_path, sample_dumps):
    path = tmp_path / "plain-name.txt"
    path.write_bytes(gzip.compress(sample_dumps[1].read_bytes()))
    papers, reading = read_all([path])
    assert (reading.files[0].format, len(papers)) == ("hf-daily", 51)


@pytest.mark.parametrize(("sample", "expected"), [
    ('{"title": "x"}', "jsonl"),
    ("Abstract: text", "abstract-lines"),
    ("title,abstract\nx,y", "csv"),
    ("new\n\nDaily Papers\n", "hf-daily"),
    ("Poster\nTitle\nAnn Lee · Bo Wu\nAbstract.", "conference"),
    ("just some prose\nwithout structure", None),
    ("name,value\n1,2", None),
])
def test_detect_format(sample, expected):
    assert detect_format(sample) == expected


def test_format_override(tmp_path):
    path = write(tmp_path / "x.txt", "Title one\nAnn Lee · Bo Wu\nAbstract one.\n")
    assert [paper.title for paper in read_dumps([path], "conference")] == ["Title one"]
    papers, reading = read_all([path], "abstract-lines")
    assert papers == [] and reading.files[0].skipped == {"line without 'Abstract:'": 3}
    with pytest.raises(ValueError, match="unknown dump format"):
        read_dumps([path], "pdf")
    assert "csv" in FORMATS


def test_dedupe_across_files_keeps_first(tmp_path):
    one = write(tmp_path / "a.jsonl", '{"title": "Deep Nets!", "abstract": "a"}\n{"abstract": "Same  text."}\n')
    two = write(tmp_path / "b.jsonl", '{"title": "deep   nets", "abstract": "b"}\n{"abstract": "same text"}\n'
                                      '{"title": "Same text"}\n')
    papers, reading = read_all([one, two])
    assert [paper.source for paper in papers] == [f"{one}:1", f"{one}:2", f"{two}:3"]
    assert (reading.duplicates, reading.distinct, [r.entries for r in reading.files]) == (2, 3, [2, 3])


def test_bad_entries_are_counted_by_reason(tmp_path):
    text = ('{"title": "ok"}\nnot json\n[1, 2]\n{"title": "", "abstract": " "}\n{"title": 3}\n'
            '{"title": "t", "authors": [1]}\n{"title": "u", "id": {}}\n')
    papers, reading = read_all([write(tmp_path / "bad.jsonl", text)])
    assert [paper.title for paper in papers] == ["ok"]
    assert reading.files[0].skipped == {
        "invalid JSON": 1, "JSON is not an object": 1, "no title or abstract": 1, "'title' is not a string": 1,
        "'authors' is neither a string nor a list of strings": 1, "'id' is neither a string nor a number": 1,
    }


def test_bad_text_entries_are_counted(tmp_path):
    hf = write(tmp_path / "hf.txt", "Daily Papers\n\n  • 2 authors\n·\nMay 1, 2020\n\nTitle\n\nAbstract.\n")
    csv = write(tmp_path / "rows.csv", "title,abstract\na,b,c\n,\n")
    papers, reading = read_all([hf, csv])
    assert [paper.title for paper in papers] == ["Title"]
    assert reading.files[0].skipped == {"author block without title and abstract": 1}
    assert reading.files[1].skipped == {"row length differs from the header's": 1}


@pytest.mark.parametrize("compress", [False, True])
def test_entries_over_the_cap_are_skipped_and_counted_and_the_next_line_read(tmp_path, compress):
    lines = [json.dumps({"title": "before"}), json.dumps({"title": "x" * 5000}), json.dumps({"title": "after"}),
             json.dumps({"title": "y" * 50})]  # the last line is exactly 64 bytes: kept
    content = ("\n".join(lines) + "\n").encode()
    path = tmp_path / "dump.jsonl"
    path.write_bytes(gzip.compress(content) if compress else content)
    reading = read_dumps([path], max_entry_bytes=64)
    papers = list(reading)
    assert [paper.title for paper in papers] == ["before", "after", "y" * 50]
    assert papers[1].source == f"{path}:3"  # line numbers count the skipped line
    assert reading.files[0].describe() == f"{path}: jsonl, 3 entries, 1 skipped (1 entry over 64 bytes)"


LONG_ABSTRACT = "\n".join(["a line of an abstract that goes on"] * 1000)  # short lines, 34,999 characters


@pytest.mark.parametrize("name, text", [
    ("hf.txt", f"Daily Papers\n\nShort one\n\nFine.\n\nLong one\n\n{LONG_ABSTRACT}\n\nLast one\n\nFine too.\n"),
    ("conference.txt", "Short one\nAda Lovelace · Alan Turing\nFine.\nLong one\nGrace Hopper · Edsger Dijkstra\n"
                       f"{LONG_ABSTRACT}\nLast one\nBarbara Liskov · Donald Knuth\nFine too.\n"),
])
def test_a_multi_line_entry_over_the_cap_is_skipped_and_never_held_whole(tmp_path, name, text):
    path = write(tmp_path / name, text)
    reading = read_dumps([path], max_entry_bytes=100)
    assert [paper.title for paper in reading] == ["Short one", "Last one"]
    assert reading.files[0].skipped == {"entry over 100 bytes": 1}
    numbered = list(enumerate(text.splitlines(), 1))
    longest = max(len(entry.title) + len(entry.abstract) for entry in PARSERS[reading.files[0].format](numbered, 100))
    assert 100 < longest < 200  # the parser stopped growing the long entry soon after the cap


@pytest.mark.parametrize(("content", "message"), [
    (None, ":1: cannot read: No such file or directory"),
    (b"", ":1: empty file"),
    (b" \n\n", ":1: empty file"),
    (b"plain prose\n", ":1: cannot tell the format"),
    (b'{"title": "a"}\n' + b"\x00" * 64, ":2: not UTF-8 text (binary?)"),
    (b"\x1f\x8b\x08garbage", ":1: cannot read"),
])
def test_fatal_problems_raise_dump_error(tmp_path, content, message):
    path = tmp_path / "dump.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DumpError) as caught:
        list(read_dumps([path]))
    assert str(caught.value).startswith(f"{path}{message}") and "\n" not in str(caught.value)


def test_late_undecodable_bytes_repair_their_paper(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"title": "a"}\n' * 9999 + b'{"title": "\xc3("}\n')
    papers, reading = read_all([path])
    assert [(paper.title, paper.source) for paper in papers] == [("a", f"{path}:1"), ("\ufffd(", f"{path}:10000")]
    assert reading.files[0].describe() == (f"{path}: jsonl, 10000 entries, 0 skipped, "
                                           "1 repaired (1 with bytes not UTF-8 replaced by U+FFFD)")


def test_csv_without_title_or_abstract_column(tmp_path):
    path = write(tmp_path / "x.csv", "name,value\n1,2\n")
    with pytest.raises(DumpError, match=r"x.csv:1: CSV header names no 'title' or 'abstract' column"):
        list(read_dumps([path], "csv"))


def test_reading_is_lazy_and_single_use(tmp_path):
    good = write(tmp_path / "good.jsonl", '{"title": "a"}\n')
    reading = read_dumps([good, tmp_path / "missing.jsonl"])
    assert next(iter(reading)).title == "a" and reading.files[0].entries == 1
    with pytest.raises(RuntimeError):
        iter(reading)


@pytest.mark.parametrize(("text", "iso"), [
    ("Apr 1, 2020", "2020-04-01"), ("2021-01-04T10:00:00", "2021-01-04"), ("2019", "2019"),
    ("March 2022", "2022-03"), ("5 June 2018", "2018-06-05"), ("May 12", None), ("Feb 30, 2020", None), ("", None),
])
def test_parse_date(text, iso):
    assert parse_date(text) == iso


def test_papers_frame(tmp_path):
    path = write(tmp_path / "p.jsonl", '{"title": "a", "authors": ["X"], "label": "vision"}\n')
    frame = papers_frame(read_dumps([path]))
    assert list(frame.columns) == ["id", "title", "abstract", "authors", "date", "source", "label"]
    assert frame.loc[0, "authors"] == ["X"] and frame.loc[0, "label"] == "vision"


def test_reads_shared_corpus(corpus_path):
    papers, reading = read_all([corpus_path])
    assert reading.files[0].format == "jsonl" and not reading.files[0].skipped
    assert reading.files[0].entries == 7401 and papers[0].id.startswith("iclr2024:")


@pytest.mark.parametrize(("rows", "titles", "first_open", "skipped"), [
    # a quote left open to the end of the file
    ('A,"one\nB,two\nC,three\n', ["B", "C"], 2, 1),
    # a quote left open up to another row's quoted field
    ('A,"one\nB,two\nC,"three"\nD,four\n', ["B", "C", "D"], 2, 1),
    # two quotes left open
    ('A,"one\nB,two\nC,"three\nD,four\n', ["B", "D"], 2, 2),
    # a quoted field rightly spanning two lines, then a quote left open
    ('A,"one,\ntwo"\nB,"x\nC,three\n', ["A", "C"], 4, 1),
])
def test_csv_quote_left_open_skips_its_row_and_keeps_the_rows_it_swallowed(tmp_path, rows, titles, first_open,
                                                                           skipped):
    path = write(tmp_path / "rows.csv", "title,abstract\n" + rows)
    papers, reading = read_all([path])
    assert [paper.title for paper in papers] == titles
    assert reading.files[0].skipped == {f"quote left open (first on line {first_open})": skipped}


def test_csv_field_of_200_kb_is_read(tmp_path):
    path = write(tmp_path / "rows.csv", f'title,abstract\nLong,"{"word " * 40_000}"\nShort,"two\nlines"\n')
    papers, reading = read_all([path])
    assert [(paper.title, len(paper.abstract)) for paper in papers] == [("Long", 199_999), ("Short", 9)]
    assert not reading.files[0].skipped


def test_csv_quoted_field_running_over_the_cap_is_a_fatal_problem(tmp_path):
    path = write(tmp_path / "rows.csv", 'title,abstract\nA,one\nB,"two\n' + "more text\n" * 20 + "C,three\n")
    with pytest.raises(DumpError, match=r"rows.csv:3: quoted field running over 100 bytes \(a quote left open\?\)"):
        list(read_dumps([path], max_entry_bytes=100))


def test_deeply_nested_json_line_is_skipped_and_counted(tmp_path):
    path = write(tmp_path / "deep.jsonl", '{"title": "before"}\n' + "[" * 200_000 + "]" * 200_000
                 + '\n{"title": "x", "extra": ' + "{\"a\": " * 100_000 + "1" + "}" * 100_001 + '\n{"title": "after"}\n')
    papers, reading = read_all([path])
    assert [paper.title for paper in papers] == ["before", "after"]
    assert reading.files[0].skipped == {"JSON nested too deeply": 2}


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c\u200d", " \u2060 ", "\ufeff", "\u00ad\t"])
def test_text_of_only_invisible_characters_is_no_text(tmp_path, invisible):
    records = [{"title": invisible, "abstract": invisible}, {"title": invisible, "abstract": "Real abstract."},
               {"title": invisible, "abstract": "Another abstract."}]
    path = write(tmp_path / "zw.jsonl", "".join(json.dumps(record) + "\n" for record in records))
    papers, reading = read_all([path])
    assert [(paper.title, paper.abstract) for paper in papers] == [("", "Real abstract."), ("", "Another abstract.")]
    assert reading.files[0].skipped == {"no title or abstract": 1}
