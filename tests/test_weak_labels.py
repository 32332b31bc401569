"""Embedding LFs, the `embedding_lfs:` taxonomy section, the class prior from votes, the embedding cache and the
frozen-embedding logistic regression."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labeling import (
    EmbeddingLFs,
    EmbeddingLFSpec,
    LabelModelLabeler,
    MajorityVoteLabeler,
    TaxonomyError,
    apply_lfs,
    estimated_class_balance,
    keyword_lfs,
    lf_table,
    nearest_anchor,
    parse_taxonomy,
    vote_shares,
)
from models import EmbeddingLogisticClassifier, SentenceEncoder

AREAS = [
    {"slug": "vision", "name": "vision", "description": "Images and video.",
     "keywords": [{"group": "g", "terms": ["image"]}]},
    {"slug": "language", "name": "language", "description": "Text and speech.",
     "keywords": [{"group": "g", "terms": ["sentence"]}]},
    {"slug": "graphs", "name": "graphs", "description": "Graphs and networks.",
     "keywords": [{"group": "g", "terms": ["graph"]}]},
]


def taxonomy_with(embedding_lfs: list) -> object:
    return parse_taxonomy({"name": "t", "areas": AREAS, "embedding_lfs": embedding_lfs})


def clustered_embeddings(n_per_area: int, k: int = 3, noise: float = 0.15, seed: int = 0):
    """Unit vectors around k orthogonal directions in 8 dimensions, and each one's area."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(k), n_per_area)
    vectors = np.eye(8)[y] + rng.normal(0, noise, (len(y), 8))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), y


def test_centroid_lf_labels_papers_no_keyword_covers() -> None:
    embeddings, y = clustered_embeddings(40)
    covered_by_keywords = np.arange(len(y)) % 4 == 0  # a quarter of the papers have a keyword vote
    label_proba = np.full((len(y), 3), 1 / 3)  # uncovered papers: uninformative rows, never confident
    label_proba[covered_by_keywords] = np.eye(3)[y[covered_by_keywords]]
    lfs = EmbeddingLFs(taxonomy_with([{"kind": "centroid"}])).fit(embeddings, label_proba)
    assert [lf.name for lf in lfs.lfs] == ["vision:centroid", "language:centroid", "graphs:centroid"]
    votes = lfs.apply(embeddings)
    assert votes.shape == (120, 3)
    uncovered = ~covered_by_keywords
    voted = votes.max(axis=1)
    assert ((votes != -1).sum(axis=1) <= 1).all()  # at most one LF of a kind votes
    assert (voted[uncovered] == y[uncovered]).all()  # every paper without keywords voted, and right
    table = lf_table(votes, lfs.lfs, y)
    assert table["emp_acc"].tolist() == [1.0, 1.0, 1.0]


def test_nearest_anchor_abstains_under_the_margin_and_skips_empty_areas() -> None:
    anchors = np.array([[1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]])
    papers = np.array([[1.0, 0.0], [0.72, 0.69], [0.0, 1.0]])
    np.testing.assert_array_equal(nearest_anchor(papers, anchors, margin=0.02), [0, 0, 1])
    np.testing.assert_array_equal(nearest_anchor(papers, anchors, margin=0.05), [0, -1, 1])


def test_description_lf_votes_the_nearest_description() -> None:
    embeddings, y = clustered_embeddings(10, noise=0.05)
    lfs = EmbeddingLFs(taxonomy_with([{"kind": "description", "margin": 0.1}]))
    votes = lfs.fit(description_embeddings=np.eye(8)[:3]).apply(embeddings)
    np.testing.assert_array_equal(votes.max(axis=1), y)
    with pytest.raises(ValueError, match="description LFs need 3 description embeddings"):
        lfs.fit(description_embeddings=np.eye(8)[:2])


def test_embedding_lfs_section_is_parsed() -> None:
    taxonomy = taxonomy_with([{"kind": "centroid", "margin": 0.05, "min_confidence": 0.8}, {"kind": "description"}])
    assert taxonomy.embedding_lfs == (EmbeddingLFSpec("centroid", 0.05, 0.8), EmbeddingLFSpec("description"))
    assert parse_taxonomy({"name": "t", "areas": AREAS}).embedding_lfs == ()


@pytest.mark.parametrize(("section", "message"), [
    ("centroid", "embedding_lfs: must be a list, not str"),
    (["centroid"], "embedding_lfs[0]: must be a mapping, not str"),
    ([{"kind": "knn"}], "embedding_lfs[0].kind: must be one of centroid, description, not 'knn'"),
    ([{"margin": 0.1}], "embedding_lfs[0].kind: missing required key"),
    ([{"kind": "centroid", "k": 3}], "embedding_lfs[0].k: unknown key (allowed: kind, margin, min_confidence)"),
    ([{"kind": "centroid", "margin": "wide"}], "embedding_lfs[0].margin: must be a number, not str"),
    ([{"kind": "centroid", "margin": True}], "embedding_lfs[0].margin: must be a number, not bool"),
    ([{"kind": "centroid", "margin": -0.1}], "embedding_lfs[0].margin: must be 0 <= margin < 2, got -0.1"),
    ([{"kind": "centroid", "min_confidence": 0}],
     "embedding_lfs[0].min_confidence: must be 0 < min_confidence <= 1, got 0"),
    ([{"kind": "centroid", "min_confidence": float("nan")}],
     "embedding_lfs[0].min_confidence: must be 0 < min_confidence <= 1, got nan"),
    ([{"kind": "description", "min_confidence": 0.7}],
     "embedding_lfs[0].min_confidence: only a centroid LF has a min_confidence"),
    ([{"kind": "centroid"}, {"kind": "centroid"}], "embedding_lfs[1].kind: duplicate 'centroid'"),
])
def test_embedding_lfs_section_errors_name_the_key(section: object, message: str) -> None:
    with pytest.raises(TaxonomyError) as error:
        taxonomy_with(section)
    assert str(error.value) == message


def test_shipped_taxonomy_declares_the_centroid_lf() -> None:
    from labeling import load_taxonomy

    taxonomy = load_taxonomy(Path(__file__).resolve().parents[1] / "configs" / "taxonomies" / "iclr2025.yaml")
    assert taxonomy.embedding_lfs == (EmbeddingLFSpec("centroid", margin=0.02, min_confidence=0.7),)


def skewed_votes(n: int, balance: list[float], n_lfs: int = 8, seed: int = 0):
    """Gold y drawn from `balance` and LFs that vote y (accuracy 0.7, coverage 0.4) or a uniformly wrong area."""
    rng = np.random.default_rng(seed)
    k = len(balance)
    y = rng.choice(k, n, p=balance)
    L = np.full((n, n_lfs), -1)
    for j in range(n_lfs):
        fires = rng.random(n) < 0.4
        L[fires, j] = np.where(rng.random(n) < 0.7, y, (y + rng.integers(1, k, n)) % k)[fires]
    return L, y


def test_estimated_class_balance_recovers_a_skewed_prior() -> None:
    balance = [0.6, 0.25, 0.1, 0.05]
    L, _ = skewed_votes(5000, balance)
    estimate = estimated_class_balance(L, 4)
    assert estimate.argsort().tolist() == [3, 2, 1, 0]
    # wrong votes spread evenly pull the estimate towards uniform, but it stays far nearer the truth
    assert np.abs(estimate - balance).sum() < 0.4 * np.abs(0.25 - np.array(balance)).sum()
    for labeler in (LabelModelLabeler(4, epochs=10, prior="estimate"), MajorityVoteLabeler(4, prior="estimate")):
        np.testing.assert_allclose(labeler.fit(L).class_balance_, estimate)
    np.testing.assert_allclose(LabelModelLabeler(4, epochs=10).fit(L).class_balance_, 0.25)  # no gold: uniform
    with pytest.raises(ValueError, match="prior must be one of estimate, uniform, not 'gold'"):
        LabelModelLabeler(4, prior="gold").fit(L)  # validated when fitted


def test_sentence_encoder_cache_is_reused(tmp_path: Path, tiny_bert_dir: Path) -> None:
    texts = ["graph neural networks", "diffusion models for images", "graph neural networks"]
    first = SentenceEncoder(str(tiny_bert_dir), cache_dir=str(tmp_path / "cache"))
    embeddings = first.embed(texts)
    assert embeddings.shape == (3, 32) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(embeddings[0], embeddings[2])
    np.testing.assert_allclose(embeddings, SentenceEncoder(str(tiny_bert_dir)).embed(texts), atol=1e-6)
    (stored,) = (tmp_path / "cache").iterdir()
    assert stored.suffix == ".npz"
    second = SentenceEncoder(str(tiny_bert_dir), cache_dir=str(tmp_path / "cache"))
    np.testing.assert_array_equal(second.embed(texts[:2]), embeddings[:2])
    assert "_encoder" not in second.__dict__  # answered from disk: the model was never loaded
    second.embed(["a new text"])
    assert "_encoder" in second.__dict__
    other_length = SentenceEncoder(str(tiny_bert_dir), max_length=16, cache_dir=str(tmp_path / "cache"))
    other_length.embed(texts[:1])
    assert len(list((tmp_path / "cache").iterdir())) == 2  # keyed by max_length too


WORDS = {0: "quantum photon laser optics", 1: "protein enzyme genome cell", 2: "market price trade stock"}


def word_frame(n_per_area: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_area)
    titles = [" ".join(rng.permutation(WORDS[k].split())[:3]) for k in y]
    return pd.DataFrame({"title": titles, "abstract": [""] * len(y)}), y


def test_embedding_logistic_recovers_separable_classes(tmp_path: Path, tiny_bert_dir: Path) -> None:
    frame, y = word_frame(30, seed=0)
    soft_labels = 0.1 / 3 + 0.9 * np.eye(3)[y]  # soft labels that mostly agree with y
    classifier = EmbeddingLogisticClassifier(model_path=str(tiny_bert_dir), C=100.0, cache_dir=str(tmp_path / "c"))
    classifier.fit(frame, soft_labels, progress=False)
    test_frame, test_y = word_frame(10, seed=1)
    assert (classifier.predict(test_frame) == test_y).mean() >= 0.9
    saved = classifier.save(tmp_path / "model")
    loaded = EmbeddingLogisticClassifier.load(saved)
    assert loaded.cache_dir is None
    np.testing.assert_allclose(loaded.predict_proba(test_frame), classifier.predict_proba(test_frame), atol=1e-6)


def test_keyword_and_embedding_votes_stack_for_the_label_model() -> None:
    taxonomy = taxonomy_with([{"kind": "centroid", "min_confidence": 0.9}])
    frame = pd.DataFrame({"title": ["an image paper", "a sentence paper", "a graph paper", "no keyword"] * 10,
                          "abstract": [""] * 40})
    keyword_votes = apply_lfs(keyword_lfs(taxonomy), frame)
    embeddings, y = np.eye(8)[np.arange(40) % 4 % 3], np.arange(40) % 4 % 3  # "no keyword" sits with vision
    lfs = EmbeddingLFs(taxonomy).fit(embeddings, vote_shares(keyword_votes, 3))
    votes = np.concatenate([keyword_votes, lfs.apply(embeddings)], axis=1)
    assert votes.shape == (40, 6)
    assert (LabelModelLabeler(3, epochs=20).fit(votes).predict(votes) == y).all()  # the uncovered fourth gets vision


def test_the_label_model_of_a_two_area_taxonomy_is_majority_vote() -> None:
    from paper_areas.pipeline.config import LabelModelConfig
    from paper_areas.pipeline.weak_labels import Votes, choose_labeler

    taxonomy = parse_taxonomy({"name": "t", "areas": AREAS[:2]})
    frame = pd.DataFrame({"title": ["An image", "A sentence", "Image and sentence", "Nothing"], "abstract": [""] * 4})
    lfs = keyword_lfs(taxonomy)
    votes = apply_lfs(lfs, frame)
    choice = choose_labeler(Votes(lfs, votes, votes), LabelModelConfig(), taxonomy.names, np.array([0, 1, 0, 1]))
    assert isinstance(choice.labeler, MajorityVoteLabeler) and set(choice.gold_scores) == {"majority_vote"}
    np.testing.assert_allclose(choice.labeler.predict_proba(votes), [[1, 0], [0, 1], [0.5, 0.5], [0.5, 0.5]])
