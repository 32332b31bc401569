"""The labellers on synthetic votes, the choice between them on gold, LF analysis, and `train.py lfs` /
`train.py suggest` on the seeds."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling import (
    ABSTAIN,
    LabelModelLabeler,
    MajorityVoteLabeler,
    area_coverage,
    covered,
    gold_class_balance,
    keyword_lfs,
    lf_table,
    load_taxonomy,
)
from paper_areas.pipeline import lf_commands
from paper_areas.pipeline.config import LabelModelConfig
from paper_areas.pipeline.weak_labels import Votes, choose_labeler
from tests.test_labeling import write_small_taxonomy


def synthetic_votes(n: int, accuracies: list[float], propensities: list[float], k: int, seed: int = 0):
    """Gold y and conditionally independent LF votes with known accuracy and propensity (coverage)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    L = np.full((n, len(accuracies)), -1)
    for j, (accuracy, propensity) in enumerate(zip(accuracies, propensities, strict=True)):
        fires = rng.random(n) < propensity
        wrong = (y + rng.integers(1, k, n)) % k
        L[fires, j] = np.where(rng.random(n) < accuracy, y, wrong)[fires]
    return L, y


def test_label_model_ranks_lf_accuracies_with_the_shipped_settings() -> None:
    accuracies = [0.95, 0.85, 0.75, 0.6, 0.5, 0.4]
    L, y = synthetic_votes(4000, accuracies, [0.6, 0.5, 0.7, 0.6, 0.5, 0.6], k=3)
    labeler = LabelModelLabeler(3, seed=1)
    assert labeler.fit(L) is labeler  # the shipped settings: lr 0.001, 100 epochs
    learned = labeler.label_model_.get_weights()
    assert learned[:3].mean() > learned[3:].mean() + 0.02, f"better LFs not weighed higher: {learned}"
    assert np.mean(labeler.predict(L)[covered(L)] == y[covered(L)]) > 0.85


def test_label_model_recovers_lf_accuracies_at_snorkels_learning_rate() -> None:
    """Why the shipped lr is lower: lr 0.01 learns independent LFs' accuracies, which the real, correlated LFs
    are not (it measured 2 points below lr 0.001 on the real votes: BENCHMARKS.md, "Which values were chosen on a
    dev set")."""
    accuracies = [0.95, 0.85, 0.75, 0.6, 0.5, 0.4]
    L, _ = synthetic_votes(4000, accuracies, [0.6, 0.5, 0.7, 0.6, 0.5, 0.6], k=3)
    learned = LabelModelLabeler(3, lr=0.01, seed=1).fit(L).label_model_.get_weights()
    np.testing.assert_allclose(learned, accuracies, atol=0.1)
    assert (np.diff(learned) < 0).all(), f"accuracy order lost: {learned}"


def test_both_labellers_predict_and_score_with_abstains_counted_wrong() -> None:
    accuracies, propensities = [0.9, 0.85, 0.45, 0.45, 0.45], [0.5, 0.5, 0.9, 0.9, 0.9]
    L, _ = synthetic_votes(3000, accuracies, propensities, k=3, seed=2)
    L_gold, y_gold = synthetic_votes(600, accuracies, propensities, k=3, seed=3)
    for labeler in (LabelModelLabeler(3).fit(L, y_gold), MajorityVoteLabeler(3).fit(L, y_gold)):
        np.testing.assert_allclose(labeler.class_balance_, gold_class_balance(y_gold, 3))  # gold gives the prior
        proba = labeler.predict_proba(L_gold)
        assert proba.shape == (600, 3) and np.allclose(proba.sum(axis=1), 1)
        predicted = labeler.predict(L_gold)
        assert ((predicted == ABSTAIN) == ~covered(L_gold)).all()
        assert labeler.score(L_gold, y_gold) == np.mean(predicted == y_gold)
        no_votes = np.vstack([L_gold, np.full((1, 5), ABSTAIN)])  # a paper without votes counts as wrong
        assert labeler.score(no_votes, np.append(y_gold, 0)) == pytest.approx(np.sum(predicted == y_gold) / 601)
    # three weak LFs outvote two good ones: weighting them must beat counting them
    label_model, majority_vote = LabelModelLabeler(3).fit(L), MajorityVoteLabeler(3).fit(L)
    assert label_model.score(L_gold, y_gold) > majority_vote.score(L_gold, y_gold) + 0.01


def test_the_pipeline_chooses_the_labeller_of_higher_gold_macro_f1() -> None:
    accuracies, propensities = [0.9, 0.85, 0.45, 0.45, 0.45], [0.5, 0.5, 0.9, 0.9, 0.9]
    L, _ = synthetic_votes(3000, accuracies, propensities, k=3, seed=2)
    L_gold, y_gold = synthetic_votes(600, accuracies, propensities, k=3, seed=3)
    choice = choose_labeler(Votes([], L, L_gold), LabelModelConfig(), ["a", "b", "c"], y_gold)
    assert list(choice.gold_scores) == ["label_model", "majority_vote"]
    assert choice.gold_scores["label_model"].macro_f1 > choice.gold_scores["majority_vote"].macro_f1
    assert isinstance(choice.labeler, LabelModelLabeler) and choice.label_model_rows == 3000
    # Majority vote when it scores higher: on gold the two LFs the label model trusts are always wrong.
    L_gold, y_gold = synthetic_votes(600, [0.0, 0.0, 0.9, 0.9, 0.9], propensities, k=3, seed=5)
    choice = choose_labeler(Votes([], L, L_gold), LabelModelConfig(), ["a", "b", "c"], y_gold)
    assert choice.gold_scores["majority_vote"].macro_f1 > choice.gold_scores["label_model"].macro_f1
    assert isinstance(choice.labeler, MajorityVoteLabeler)
    without_gold = choose_labeler(Votes([], L, None), LabelModelConfig(), ["a", "b", "c"], None)
    assert isinstance(without_gold.labeler, LabelModelLabeler) and without_gold.gold_scores == {}


def test_majority_vote_shares_and_ties() -> None:
    L = np.array([[0, 0, 1], [1, 2, -1], [-1, -1, -1], [2, -1, 2]])
    labeler = MajorityVoteLabeler(3, class_balance=np.array([0.2, 0.3, 0.5])).fit(L)
    np.testing.assert_allclose(labeler.predict_proba(L), [[1, 0, 0], [0, 0.5, 0.5], [1 / 3] * 3, [0, 0, 1]])
    np.testing.assert_array_equal(labeler.predict(L), [0, 2, -1, 2])  # the tie goes to the larger prior
    np.testing.assert_array_equal(MajorityVoteLabeler(3).fit(L).predict(L), [0, 1, -1, 2])  # then the lower index
    assert labeler.score(L, np.array([0, 1, 1, 2])) == 0.5


def test_fewer_than_three_lfs_leave_majority_vote_only() -> None:
    L, y = synthetic_votes(300, [0.9, 0.8], [0.7, 0.7], k=2, seed=4)
    with pytest.raises(ValueError, match="the label model needs at least 3 LFs, got 2"):
        LabelModelLabeler(2).fit(L)
    for choice in (choose_labeler(Votes([], L, None), LabelModelConfig(), ["yes", "no"], None),
                   choose_labeler(Votes([], L, L[:100]), LabelModelConfig(), ["yes", "no"], y[:100])):
        assert isinstance(choice.labeler, MajorityVoteLabeler) and choice.label_model_rows == 0
        assert [labeler.NAME for labeler in choice.fitted] == ["majority_vote"]
        assert np.mean(choice.labeler.predict(L)[covered(L)] == y[covered(L)]) > 0.8
    assert set(choice.gold_scores) == {"majority_vote"}


def test_gold_class_balance_is_smoothed() -> None:
    balance = gold_class_balance(np.array([0, 0, 1]), 3)
    np.testing.assert_allclose(balance, [3 / 6, 2 / 6, 1 / 6])


def test_lf_table_and_area_coverage() -> None:
    L = np.array([[0, -1, 1], [0, 0, -1], [-1, -1, -1], [-1, 0, 1]])
    y = np.array([0, 1, 1, 1])
    lfs = [argparse.Namespace(name=name, area=area) for name, area in (("a:x", 0), ("a:y", 0), ("b:x", 1))]
    table = lf_table(L, lfs, y)
    assert table["name"].tolist() == ["a:x", "a:y", "b:x"]
    np.testing.assert_allclose(table["coverage"], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(table["conflicts"], [0.25, 0.25, 0.5])
    assert table["correct"].tolist() == [1, 0, 1] and table["incorrect"].tolist() == [1, 2, 1]
    np.testing.assert_allclose(table["emp_acc"], [0.5, 0.0, 0.5])
    areas = area_coverage(L, lfs, ["a", "b"], y).set_index("area")
    assert areas.loc["a", "papers"] == 3 and areas.loc["b", "papers"] == 2
    assert areas.loc["b", "gold_recall"] == pytest.approx(1 / 3)
    assert areas.loc["(no votes)", "papers"] == 1


@pytest.fixture
def small_taxonomy(tmp_path: Path) -> Path:
    return write_small_taxonomy(tmp_path)


@pytest.fixture
def seed_gold(tmp_path: Path, sample_dumps: list[Path], small_taxonomy: Path) -> Path:
    """The seeds with votes as a gold file, labelled by their highest vote: a known answer."""
    from labeling import apply_lfs
    from paper_areas.dumps import papers_frame, read_dumps

    frame = papers_frame(read_dumps(sample_dumps))
    taxonomy = load_taxonomy(small_taxonomy)
    votes = apply_lfs(keyword_lfs(taxonomy), frame)
    keep = covered(votes)
    path = tmp_path / "gold.jsonl"
    gold = pd.DataFrame({"id": frame["id"], "title": frame["title"].fillna(""), "abstract": frame["abstract"],
                         "label": [taxonomy.names[k] for k in votes.max(axis=1)]})[keep]
    gold.to_json(path, orient="records", lines=True)
    return path


def _run(add_arguments, run, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args(argv))


def test_lfs_command_on_seeds(tmp_path: Path, sample_dumps: list[Path], small_taxonomy: Path, seed_gold: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lfs.json"
    argv = ["--dumps", *map(str, sample_dumps), "--taxonomy", str(small_taxonomy), "--gold", str(seed_gold),
            "--json", str(out)]
    assert _run(lf_commands.add_lfs_arguments, lf_commands.run_lfs, argv) == 0
    printed = capsys.readouterr().out
    assert "generative:diffusion" in printed and "selected:" in printed
    assert max(map(len, printed.splitlines())) <= lf_commands.WIDTH
    report = json.loads(out.read_text())
    assert report["n_papers"] > 400 and 0 < report["coverage"] < 1
    for predictor in ("label_model", "majority_vote"):
        assert 0 <= report[predictor]["accuracy"] <= 1 and 0 <= report[predictor]["macro_f1"] <= 1
    assert report["majority_vote"]["accuracy"] > 0.9  # gold was made from the votes
    table = pd.read_csv(tmp_path / "lfs.lf_table.csv")
    assert table["name"].tolist() == [lf.name for lf in keyword_lfs(load_taxonomy(small_taxonomy))]
    assert {"polarity", "coverage", "overlaps", "conflicts", "correct", "incorrect", "emp_acc"} <= set(table)


def test_lfs_command_rejects_unknown_gold_label(tmp_path: Path, sample_dumps: list[Path],
                                                small_taxonomy: Path) -> None:
    from paper_areas.pipeline.data import GoldError

    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "1", "title": "t", "abstract": "a long enough abstract", "label": "astrology"}\n')
    argv = ["--dumps", str(sample_dumps[0]), "--taxonomy", str(small_taxonomy), "--gold", str(gold),
            "--csv", str(tmp_path / "t.csv")]
    with pytest.raises(GoldError, match=r"gold\.jsonl:1.*'astrology'"):
        _run(lf_commands.add_lfs_arguments, lf_commands.run_lfs, argv)


def test_suggest_command_on_seeds(sample_dumps: list[Path], small_taxonomy: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--dumps", *map(str, sample_dumps), "--taxonomy", str(small_taxonomy), "--area", "rl", "--top", "8"]
    assert _run(lf_commands.add_suggest_arguments, lf_commands.run_suggest, argv) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert lines[0].startswith("candidate keywords for rl")
    assert "uncovered_reach" in lines[1] and len(lines) == 2 + 8
    parts_of_keywords = re.compile(r"\s*(reinforcement|learning|reward)\s+\d")
    assert not any(parts_of_keywords.match(line) for line in lines[2:])


def test_suggest_keywords_finds_the_planted_term() -> None:
    from labeling import parse_taxonomy, suggest_keywords

    taxonomy = parse_taxonomy({"name": "t", "areas": [
        {"slug": s, "name": s, "description": s, "keywords": [{"group": "g", "terms": [s]}]} for s in ("x", "y")]})
    abstracts = ([f"x paper {i} about quantum widgets" for i in range(6)]
                 + [f"y paper {i} about plain widgets" for i in range(4)] + ["y quantum paper", "y paper"]
                 + ["nothing but quantum widgets here", "unrelated text"])
    frame = pd.DataFrame({"title": [""] * len(abstracts), "abstract": abstracts})
    L = np.array([[0, -1]] * 6 + [[-1, 1]] * 6 + [[-1, -1]] * 2)
    proba = np.where(L == -1, 0.0, 1.0) + 0.01
    table = suggest_keywords(frame, L, proba, taxonomy, "x", top=5)
    assert "x" not in table["term"].tolist()
    best = table[table["score"] == table["score"].max()].set_index("term")
    assert best.loc["quantum widgets", "in_area"] == 6 and best.loc["quantum widgets", "elsewhere"] == 0
    assert best.loc["quantum widgets", "uncovered_reach"] == 1
