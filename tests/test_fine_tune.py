"""Issue 28: a fitted end model continues on a few hand labels (MiniLM from its weights, a logistic regression with
its weak-label fit as the prior, an average's every member, a taught model's end model): a labelled paper's area
follows its label, even an area the weak labels never named."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from test_models import tiny_minilm, toy_papers

from labeling import MajorityVoteLabeler, apply_lfs, keyword_lfs, load_taxonomy
from models import AveragedClassifier, FineTuning, TaughtClassifier, TfidfClassifier
from paper_areas.pipeline.config import DEFAULT_TAXONOMY


def relabelled(n: int = 8) -> tuple:
    """The toy set, `n` of its agent papers labelled by hand as area 2, which no weak label names, and as many
    biology papers labelled as their weak labels say (area 0): (frame, soft labels, hand-labelled papers, their
    one-hot labels)."""
    frame, soft, gold = toy_papers()
    hand = pd.concat([frame.iloc[20 : 20 + n], frame.iloc[:n]])
    return frame, soft, hand, np.eye(3)[[2] * n + [0] * n]


@pytest.mark.parametrize("kind", ["tfidf", "minilm"])
def test_a_labelled_papers_area_follows_its_label_even_an_area_the_weak_labels_never_named(kind, tiny_bert_dir):
    frame, soft, hand, targets = relabelled()
    model = TfidfClassifier(min_df=1) if kind == "tfidf" else tiny_minilm(tiny_bert_dir)
    model.fit(frame, soft, progress=False)
    assert (model.predict(hand) == [1] * 8 + [0] * 8).all()
    settings = FineTuning(epochs=6, learning_rate=3e-3) if kind == "minilm" else FineTuning()
    assert model.fine_tune(hand, targets, settings) is model
    assert (model.predict(hand) == targets.argmax(axis=1)).all()
    unlabelled_biology = frame.iloc[8:20]
    assert (model.predict(unlabelled_biology) == 0).mean() >= 0.9, "biology papers stay where the labels keep them"


def test_the_prior_strength_bounds_how_far_a_logistic_model_moves():
    frame, soft, hand, targets = relabelled(2)
    fitted = TfidfClassifier(min_df=1).fit(frame, soft, progress=False)
    before = fitted.predict_proba(hand[:2])[:, 2].mean()
    moved = {C: copy.deepcopy(fitted).fine_tune(hand, targets, FineTuning(C=C)).predict_proba(hand[:2])[:, 2].mean()
             for C in (0.01, 1.0, 100.0)}
    assert moved[0.01] < moved[1.0] < moved[100.0]
    assert moved[0.01] - before < 0.01, "a weak pull leaves the weak-label fit almost as it was"
    assert moved[100.0] > 0.9


def test_an_average_served_with_its_teacher_fine_tunes_every_member_and_keeps_the_teacher(tiny_bert_dir):
    frame, soft, hand, targets = relabelled()
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    members = [tiny_minilm(tiny_bert_dir), TfidfClassifier(min_df=1)]
    average = AveragedClassifier(members).fit(frame, soft, progress=False)
    lfs = keyword_lfs(taxonomy)
    labeler = MajorityVoteLabeler(len(taxonomy.areas)).fit(apply_lfs(lfs, frame))
    taught = TaughtClassifier(average, taxonomy, labeler, len(lfs))
    teacher_before = taught.parts(hand)[1]
    taught.fine_tune(hand, targets, FineTuning(epochs=6, learning_rate=3e-3))
    assert all((member.predict(hand) == targets.argmax(axis=1)).all() for member in members)
    np.testing.assert_array_equal(taught.parts(hand)[1], teacher_before)
