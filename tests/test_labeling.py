"""Taxonomy validation, keyword LFs and the fast applier (identical to Snorkel's PandasLFApplier)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from snorkel.labeling import LabelingFunction, PandasLFApplier

from labeling import TaxonomyError, apply_lfs, compile_term, keyword_lfs, load_taxonomy, parse_taxonomy
from labeling.lfs import ABSTAIN, text_of
from paper_areas.dumps import papers_frame, read_dumps

REAL_TAXONOMY = Path(__file__).resolve().parents[1] / "configs" / "taxonomies" / "iclr2025.yaml"

SMALL_TAXONOMY = """\
name: small
description: a test taxonomy
areas:
  - slug: generative
    name: generative models
    description: Generating data.
    keywords:
      - group: diffusion
        terms: ["diffusion model", "score-based generative", "re:\\\\bddpms?\\\\b"]
        negative: ["diffusion of innovation"]
      - group: title
        scope: title
        terms: ["generative", "re:(?:gan|vae)s?\\\\b"]
  - slug: rl
    name: reinforcement learning
    description: Learning to act.
    keywords:
      - group: rl
        terms: ["reinforcement learning", "re:\\\\b(?:offline|online) rl\\\\b", "policy gradient", "c++"]
      - group: abstract
        scope: abstract
        terms: ["reward", "self supervised", "Kelvin"]
        negative: ["reward model"]
  - slug: graphs
    name: learning on graphs
    description: Graphs.
    keywords:
      - group: gnn
        terms: ["graph neural network", "re:gnns?", "message passing", "o(1)"]
"""


def write_small_taxonomy(folder: Path) -> Path:
    path = folder / "small.yaml"
    path.write_text(SMALL_TAXONOMY, encoding="utf-8")
    return path


@pytest.fixture
def small_taxonomy(tmp_path: Path) -> Path:
    return write_small_taxonomy(tmp_path)


def vote(lf, title, abstract) -> int:
    """The keyword LF's vote by plain regex search: the reference the fast applier must equal."""
    texts = [text_of({"title": title, "abstract": abstract}[field]) for field in lf.fields]
    def matches(terms) -> bool:
        return any(term.search(text) for term in terms for text in texts)

    return lf.area if matches(lf.group.terms) and not matches(lf.group.negative) else ABSTAIN


def snorkel_votes(lfs, frame: pd.DataFrame) -> np.ndarray:
    snorkel_lfs = [LabelingFunction(lf.name, f=lambda row, lf=lf: vote(lf, row.title, row.abstract)) for lf in lfs]
    return PandasLFApplier(snorkel_lfs).apply(frame, progress_bar=False)


def test_small_taxonomy_loads(small_taxonomy: Path) -> None:
    taxonomy = load_taxonomy(small_taxonomy)
    assert taxonomy.slugs == ["generative", "rl", "graphs"]
    assert taxonomy.index("reinforcement learning") == taxonomy.index("rl") == 1
    assert [lf.name for lf in keyword_lfs(taxonomy)] == [
        "generative:diffusion", "generative:title", "rl:rl", "rl:abstract", "graphs:gnn"]
    with pytest.raises(KeyError, match="slugs: generative, rl, graphs"):
        taxonomy.index("nope")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(colour="red"), r"^colour: unknown key"),
    (lambda d: d.update(path="x"), r"^path: unknown key \(allowed: name, areas, description, embedding_lfs\)$"),
    (lambda d: d["areas"][1].update(weight=2), r"^areas\[1\]\.weight: unknown key"),
    (lambda d: d["areas"][0]["keywords"][0].update(scope="body"),
     r"^areas\[0\]\.keywords\[0\]\.scope: must be one of title, abstract, either"),
    (lambda d: d.pop("areas"), r"^areas: missing required key"),
    (lambda d: d["areas"][2].pop("description"), r"^areas\[2\]\.description: missing required key"),
    (lambda d: d["areas"][0]["keywords"][1].pop("terms"), r"^areas\[0\]\.keywords\[1\]\.terms: missing"),
    (lambda d: d.update(areas=[]), r"^areas: must list at least 2 areas to tell apart, not 0"),
    (lambda d: d.update(areas=d["areas"][:1]), r"^areas: must list at least 2 areas to tell apart, not 1"),
    (lambda d: d["areas"][2].update(slug="rl"), r"^areas\[2\]\.slug: duplicate 'rl'"),
    (lambda d: d["areas"][2].update(name="generative models"), r"^areas\[2\]\.name: duplicate"),
    (lambda d: d["areas"][2].update(slug="Bad Slug"),
     r"^areas\[2\]\.slug: 'Bad Slug' must be lowercase letters, digits, - and _"),
    (lambda d: d["areas"][2].update(slug="графы"), None),  # any script's letters
    (lambda d: d["areas"][2].update(slug="Графы"), r"^areas\[2\]\.slug: 'Графы' must be lowercase"),
    (lambda d: d["areas"][1]["keywords"][1].update(group="rl"), r"^areas\[1\]\.keywords\[1\]\.group: duplicate"),
    (lambda d: d["areas"][1]["keywords"][0].update(terms=[]), r"^areas\[1\]\.keywords\[0\]\.terms: must list"),
    (lambda d: d["areas"][1].update(keywords=[]), r"^areas\[1\]\.keywords: must list at least one"),
    (lambda d: d["areas"][1]["keywords"][0]["terms"].append("re:(unclosed"),
     r"^areas\[1\]\.keywords\[0\]\.terms\[4\]: bad term 're:\(unclosed'"),
    (lambda d: d["areas"][1]["keywords"][0]["terms"].append(" - "), r"terms\[4\]: bad term ' - ': empty phrase"),
    (lambda d: d["areas"][0]["keywords"][0]["negative"].append(3), r"negative\[1\]: must be a string, not int"),
    (lambda d: d["areas"][0].update(keywords="diffusion"), r"^areas\[0\]\.keywords: must be a list, not str"),
    (lambda d: d["areas"].append("x"), r"^areas\[3\]: must be a mapping, not str"),
    (lambda d: d.update(name=None), r"^name: must be a str, not NoneType"),
])
def test_taxonomy_validation_names_the_key(edit, message: str | None) -> None:
    import yaml

    document = yaml.safe_load(SMALL_TAXONOMY)
    edit(document)
    if message is None:
        assert parse_taxonomy(document).areas[2].slug == document["areas"][2]["slug"]
        return
    with pytest.raises(TaxonomyError, match=message):
        parse_taxonomy(document)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nareas: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_taxonomy(bad)
    with pytest.raises(TaxonomyError, match=r"missing\.yaml: cannot read"):
        load_taxonomy(tmp_path / "missing.yaml")
    bad.write_text("name: x\nareas: []\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"bad\.yaml: areas: must list"):
        load_taxonomy(bad)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_taxonomy_that_is_not_utf8_is_one_line_naming_the_file(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "areas.yaml"
    path.write_text(SMALL_TAXONOMY.replace("Graphs.", "Graphes étiquetés."), encoding=encoding)
    line = 1 if encoding == "utf-16" else SMALL_TAXONOMY.splitlines().index("    description: Graphs.") + 1  # é
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    assert str(info.value).startswith(f"{path}:{line}: not UTF-8 text (byte 0x")
    assert str(info.value).endswith("; save the file as UTF-8") and "\n" not in str(info.value)


@pytest.mark.parametrize("pattern", ["(a+)+$", "(a|aa)+$", "(a*)*b", "(\\w+\\s?)+$", "(.*a){12}", "(a{1,5})+$",
                                     "(a?a)+$", "(?:x+x+)+y", "([a-z]+)*$", "(?:ab|\\wb)+!"])
def test_a_regex_that_can_backtrack_exponentially_is_refused_when_the_taxonomy_loads(tmp_path: Path,
                                                                                      pattern: str) -> None:
    import yaml

    document = yaml.safe_load(SMALL_TAXONOMY)
    document["areas"][1]["keywords"][0]["terms"].append(f"re:{pattern}")
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path)
    assert str(info.value).startswith(f"{path}: areas[1].keywords[0].terms[4]: bad term {'re:' + pattern!r}: can "
                                      "take exponential time on text it does not match")


@pytest.mark.parametrize("pattern", ["(new |novel |challenging )*(benchmark|dataset)", "(ab+)+", "(?:graph|graphs)+",
                                     "(\\s+\\w+){0,3}", "(\\d+\\.)+\\d+", "(?:foo\\s+)+bar", "(a|b)+$", "\\w+\\s?\\w+"])
def test_repeats_that_cannot_split_a_text_two_ways_are_kept(pattern: str) -> None:
    assert compile_term(f"re:{pattern}").search("x new novel benchmark graphs 1.2.3 foo  bar ab")


def test_the_shipped_taxonomies_load() -> None:
    for path in REAL_TAXONOMY.parent.glob("*.yaml"):
        assert len(load_taxonomy(path).areas) >= 2


@pytest.mark.parametrize(("term", "text", "expected"), [
    ("self supervised", "A Self-Supervised method", True),
    ("self-supervised", "self  supervised", True),
    ("diffusion model", "diffusion models", False),  # whole words only
    ("diffusion model", "latent diffusion\nmodel", True),
    ("gan", "organ", False),
    ("c++", "in C++ code", True),
    ("re:\\bllms?\\b", "Large LLMs", True),
    ("kelvin", "\u212aelvin scale", True),  # the Kelvin sign is a K for case-insensitive re
])
def test_term_matching(term: str, text: str, expected: bool) -> None:
    assert compile_term(term).search(text) is expected


def test_keyword_lf_scope_and_negative(small_taxonomy: Path) -> None:
    lfs = {lf.name: lf for lf in keyword_lfs(load_taxonomy(small_taxonomy))}
    assert vote(lfs["generative:diffusion"], "", "a diffusion model") == 0
    assert vote(lfs["generative:diffusion"], "diffusion of innovation", "a diffusion model") == -1
    assert vote(lfs["generative:title"], "", "generative") == -1  # title only
    assert vote(lfs["rl:abstract"], None, "reward shaping") == 1
    assert vote(lfs["rl:abstract"], float("nan"), "a reward model") == -1


def test_applier_equals_snorkel_on_seeds(small_taxonomy: Path, sample_dumps: list[Path]) -> None:
    lfs = keyword_lfs(load_taxonomy(small_taxonomy))
    frame = papers_frame(read_dumps(sample_dumps))
    votes = apply_lfs(lfs, frame)
    assert (votes != -1).any(axis=0).all(), "every LF should fire somewhere, or the test proves little"
    np.testing.assert_array_equal(votes, snorkel_votes(lfs, frame))


def test_applier_equals_snorkel_on_corpus_sample(small_taxonomy: Path, corpus_path: Path) -> None:
    lfs = keyword_lfs(load_taxonomy(small_taxonomy))
    frame = papers_frame(read_dumps([corpus_path]))
    non_ascii = frame[~(frame["title"] + frame["abstract"]).map(str.isascii)].head(100)
    sample = pd.concat([frame.sample(400, random_state=0), non_ascii]).reset_index(drop=True)
    np.testing.assert_array_equal(apply_lfs(lfs, sample), snorkel_votes(lfs, sample))


@pytest.mark.slow
def test_real_taxonomy_is_valid_and_applier_agrees(corpus_path: Path) -> None:
    if not REAL_TAXONOMY.exists():
        pytest.skip(f"{REAL_TAXONOMY} is absent")
    taxonomy = load_taxonomy(REAL_TAXONOMY)
    assert len(taxonomy.areas) == 21
    lfs = keyword_lfs(taxonomy)
    frame = papers_frame(read_dumps([corpus_path]))
    non_ascii = frame[~frame["abstract"].map(str.isascii)].head(30)
    sample = pd.concat([frame.head(60), non_ascii]).reset_index(drop=True)
    np.testing.assert_array_equal(apply_lfs(lfs, sample), snorkel_votes(lfs, sample))


_ALPHABET = list("abcdeklsi -_+()\u2010\u212a\u017f\u0131\u0130\u00df") + ["self", "supervised", "reward", "model",
                                                                     "c++", "o(1)", "gnn", "Kelvin", "\n"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_ALPHABET), max_size=12).map("".join), min_size=1, max_size=8))
def test_applier_equals_snorkel_on_tricky_text(texts: list[str]) -> None:
    taxonomy = parse_taxonomy({
        "name": "tricky", "areas": [{
            "slug": "a", "name": "a", "description": "a", "keywords": [
                {"group": "g", "terms": ["self supervised", "kelvin", "c++", "o(1)", "re:gnns?|ſ", "s", "i"],
                 "negative": ["reward model"]},
                {"group": "h", "scope": "title", "terms": ["re:\\bk", "re:(?:ab|cd)+e", "ss"]},
                {"group": "k", "scope": "abstract", "terms": ["model", "re:[a-c]{2}", "lı"]},
            ]}, {"slug": "b", "name": "b", "description": "b", "keywords": [{"group": "g", "terms": ["ß"]}]}]})
    lfs = keyword_lfs(taxonomy)
    frame = pd.DataFrame({"title": texts, "abstract": texts[::-1]})
    np.testing.assert_array_equal(apply_lfs(lfs, frame), snorkel_votes(lfs, frame))
