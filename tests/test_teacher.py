"""The end model served with its teacher (models.teacher): the labeller's posterior on keyword votes averaged in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling import LabelModelLabeler, MajorityVoteLabeler, apply_lfs, keyword_lfs, load_taxonomy
from models import (
    CalibratedClassifier,
    TaughtClassifier,
    TemperatureScaling,
    TfidfClassifier,
    load_classifier,
    teacher_of,
)

TAXONOMY = """
name: toy
areas:
  - slug: vision
    name: Vision
    description: images
    keywords:
      - group: images
        terms: [image, pixel]
      - group: detection
        terms: [object detection]
  - slug: language
    name: Language
    description: text
    keywords:
      - group: text
        terms: [language model, token]
  - slug: robots
    name: Robots
    description: robots
    keywords:
      - group: robots
        terms: [robot]
"""
PAPERS = pd.DataFrame({
    "title": ["An image model", "A language model", "Robot arms", "Nothing matches", "pixel and image"],
    "abstract": ["pixel grids", "token by token", "a robot", "at all", "object detection"],
})


@pytest.fixture
def taxonomy(tmp_path: Path):
    path = tmp_path / "toy.yaml"
    path.write_text(TAXONOMY)
    return load_taxonomy(path)


@pytest.fixture
def student() -> TfidfClassifier:
    """An end model that has learnt the wrong thing: every paper is mostly `robots`."""
    labels = np.tile([0.2, 0.2, 0.6], (len(PAPERS), 1))
    return TfidfClassifier().fit(PAPERS, labels, progress=False)


def test_keyword_votes_move_a_paper_toward_their_area_and_a_paper_without_votes_gets_the_end_model(taxonomy, student):
    labeler = MajorityVoteLabeler(3).fit(apply_lfs(keyword_lfs(taxonomy), PAPERS))
    taught = TaughtClassifier(student, taxonomy, labeler, n_votes=4, weight=0.5)
    alone, served = student.predict_proba(PAPERS), taught.predict_proba(PAPERS)
    assert served[0].argmax() == 0 and served[0, 0] > alone[0, 0]  # votes: images (vision)
    assert served[1].argmax() == 1 and served[1, 1] > alone[1, 1]  # votes: text (language)
    assert served[4].argmax() == 0  # two vision LFs vote
    np.testing.assert_array_equal(served[3], alone[3])  # no vote: exactly the end model
    np.testing.assert_allclose(served.sum(axis=1), 1)
    np.testing.assert_allclose(served[0], 0.5 * alone[0] + 0.5 * np.array([1.0, 0, 0]))


def test_a_weight_of_one_serves_the_teacher_wherever_it_votes(taxonomy, student):
    labeler = MajorityVoteLabeler(3).fit(apply_lfs(keyword_lfs(taxonomy), PAPERS))
    served = TaughtClassifier(student, taxonomy, labeler, n_votes=4, weight=1.0).predict_proba(PAPERS)
    np.testing.assert_array_equal(served[:3].argmax(axis=1), [0, 1, 2])


def test_embedding_lf_columns_abstain_and_either_text_column_may_be_missing(taxonomy, student):
    labeler = MajorityVoteLabeler(3).fit(np.full((2, 7), -1))
    taught = TaughtClassifier(student, taxonomy, labeler, n_votes=7)
    votes = taught.votes(PAPERS[["title"]])  # no abstract column: title votes only
    assert votes.shape == (5, 7) and (votes[:, 4:] == -1).all()
    np.testing.assert_array_equal(votes[:, 0], [0, -1, -1, -1, 0])


def test_a_taught_model_round_trips_with_its_label_model(taxonomy, student, tmp_path):
    rng = np.random.default_rng(0)
    votes = apply_lfs(keyword_lfs(taxonomy), PAPERS)
    training_votes = np.concatenate([votes, rng.integers(-1, 3, size=(len(votes), 2))], axis=1)
    labeler = LabelModelLabeler(3, epochs=20).fit(np.tile(training_votes, (20, 1)))
    taught = TaughtClassifier(student, taxonomy, labeler, n_votes=6, weight=0.3)
    loaded = load_classifier(taught.save(tmp_path / "taught"))
    assert isinstance(loaded, TaughtClassifier) and loaded.weight == 0.3 and loaded.n_votes == 6
    np.testing.assert_array_equal(loaded.predict_proba(PAPERS), taught.predict_proba(PAPERS))
    assert loaded.taxonomy.slugs == taxonomy.slugs


def test_evidence_names_the_keyword_lfs_that_voted_by_area_most_votes_first(taxonomy, student):
    labeler = MajorityVoteLabeler(3).fit(apply_lfs(keyword_lfs(taxonomy), PAPERS))
    taught = TaughtClassifier(student, taxonomy, labeler, n_votes=4)
    frame = pd.concat([PAPERS, pd.DataFrame({"title": ["A robot reads pixel images"],
                                             "abstract": ["object detection for a robot"]})], ignore_index=True)
    assert taught.evidence(frame) == ["vision: images", "language: text", "robots: robots", "",
                                      "vision: images, detection", "vision: images, detection; robots: robots"]


def test_the_teacher_is_found_inside_the_calibration_and_a_model_without_one_has_none(taxonomy, student):
    labeler = MajorityVoteLabeler(3).fit(apply_lfs(keyword_lfs(taxonomy), PAPERS))
    taught = TaughtClassifier(student, taxonomy, labeler, n_votes=4)
    assert teacher_of(CalibratedClassifier(taught, TemperatureScaling())) is taught
    assert teacher_of(CalibratedClassifier(student, TemperatureScaling())) is None and teacher_of(student) is None
