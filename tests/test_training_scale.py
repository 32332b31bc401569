"""Training on big dumps, on small data: chunked reading and labelling, the stratified sample, the label model's
row cap and chunked probabilities, and a sampled training run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

import labeling.label_model
import paper_areas.pipeline.corpus
from labeling import LabelModelLabeler, apply_lfs, keyword_lfs, load_taxonomy, majority_areas
from paper_areas.dumps import Paper, papers_frame, read_dumps
from paper_areas.pipeline.config import ConfigError, load_config
from paper_areas.pipeline.corpus import TextSpill, read_corpus, text_keys
from paper_areas.pipeline.data import fingerprint
from paper_areas.pipeline.sampling import stratified_sample, stratum_quotas
from paper_areas.pipeline.training import train
from tests.test_training import make_config

REPO = Path(__file__).resolve().parents[1]
TAXONOMY = REPO / "configs" / "taxonomies" / "iclr2025.yaml"


def test_quotas_keep_small_strata_whole_and_big_ones_proportional() -> None:
    sizes = np.array([3, 40, 9000, 957, 0])
    quotas = stratum_quotas(sizes, 1000)
    assert quotas.sum() == 1000 and (quotas <= sizes).all()
    assert quotas[0] == 3 and quotas[1] == 40  # the small strata keep every paper
    # the big ones share the rest in proportion to their papers beyond the equal floor (1000 / 4 strata / 4)
    assert (quotas[2] - 62) / (quotas[3] - 62) == pytest.approx((9000 - 62) / (957 - 62), rel=0.01)
    np.testing.assert_array_equal(stratum_quotas(sizes, 20_000), sizes)


def test_stratified_sample_keeps_every_area_and_is_seeded() -> None:
    strata = np.concatenate([np.full(50_000, 0), np.full(5, 1), np.full(200, 2), np.full(3000, -1)])
    rows = stratified_sample(strata, 2000, seed=3)
    assert len(rows) == 2000 and len(set(rows)) == 2000 and (np.diff(rows) > 0).all()
    kept = {area: int((strata[rows] == area).sum()) for area in (-1, 0, 1, 2)}
    assert kept[1] == 5 and kept[2] >= 100 and kept[-1] > 0 and kept[0] > kept[-1]
    np.testing.assert_array_equal(rows, stratified_sample(strata, 2000, seed=3))
    assert not np.array_equal(rows, stratified_sample(strata, 2000, seed=4))
    np.testing.assert_array_equal(stratified_sample(strata[:100], 2000), np.arange(100))


def test_text_spill_reads_back_any_rows() -> None:
    papers = [Paper(id=f"p{i}", title=f"Title {i} é\n", abstract="line one\nline two ✓" * i, authors=(), date=None,
                    date_text="", source=f"f:{i}")
              for i in range(30)]
    spill = TextSpill()
    spill.append(papers[:10])
    spill.append(papers[10:])
    frame = spill.read(np.array([29, 0, 13]))
    assert len(spill) == 30
    assert frame["id"].tolist() == ["p29", "p0", "p13"]
    assert frame["title"][0] == "Title 29 é\n" and frame["abstract"][2] == papers[13].abstract
    assert frame["source"].tolist() == ["f:29", "f:0", "f:13"]
    spill.close()


@pytest.mark.parametrize("chunk", [100_000, 97])
def test_corpus_votes_equal_the_label_matrix_of_all_papers(sample_dumps, monkeypatch, chunk) -> None:
    """One chunk in this process, or many chunks in worker processes: the same votes and fingerprint."""
    monkeypatch.setattr(paper_areas.pipeline.corpus, "CHUNK_PAPERS", chunk)
    lfs = keyword_lfs(load_taxonomy(TAXONOMY))
    frame = papers_frame(read_dumps(sample_dumps))
    corpus = read_corpus([str(path) for path in sample_dumps], lfs, stream=io.StringIO())
    try:
        np.testing.assert_array_equal(corpus.votes, apply_lfs(lfs, frame))
        np.testing.assert_array_equal(corpus.text_keys, text_keys(frame))  # from the workers, in reading order
        assert corpus.fingerprint == fingerprint(frame)
        rows = np.array([len(frame) - 1, 5])
        assert corpus.papers(rows)["title"].tolist() == frame["title"][rows].tolist()
        assert "446 distinct papers" in corpus.summary
    finally:
        corpus.close()


def test_distinct_texts_keep_the_first_paper_of_each_abstract(tmp_path) -> None:
    """The reader keeps papers with other titles apart; the training sample takes one paper per abstract (a paper
    without an abstract counts by its title)."""
    rows = [("A", "Shared abstract."), ("B", "shared  ABSTRACT"), ("C", "Another one."), ("D", ""), ("E", ""),
            ("F", "Another one.")]
    dump = tmp_path / "copies.jsonl"
    dump.write_text("".join(json.dumps({"title": title, "abstract": abstract}) + "\n" for title, abstract in rows))
    corpus = read_corpus([str(dump)], keyword_lfs(load_taxonomy(TAXONOMY)), stream=io.StringIO())
    try:
        assert len(corpus) == 6 and corpus.text_keys.dtype == np.uint64
        np.testing.assert_array_equal(corpus.distinct_texts(), [0, 2, 3, 4])
    finally:
        corpus.close()


def test_label_model_row_cap_and_chunked_probabilities(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 3000)
    L = np.where(rng.random((3000, 6)) < 0.7, truth[:, None], rng.integers(-1, 3, (3000, 6)))
    capped = LabelModelLabeler(cardinality=3, max_rows=500).fit(L)
    assert capped.fit_rows_ == 500
    assert LabelModelLabeler(cardinality=3, max_rows=None).fit(L).fit_rows_ == 3000
    whole = capped.predict_proba(L)
    monkeypatch.setattr(labeling.label_model, "PREDICT_CHUNK", 7)
    np.testing.assert_allclose(capped.predict_proba(L), whole, atol=1e-12)
    assert (capped.predict(L) == truth).mean() > 0.9  # 500 rows are enough to learn these LFs


def test_majority_areas_in_chunks() -> None:
    L = np.array([[0, 0, 1], [-1, -1, -1], [2, 1, 1], [1, 0, -1]])
    np.testing.assert_array_equal(majority_areas(L, 3, chunk=3), [0, -1, 1, 0])


def test_a_spark_master_needs_the_spark_engine() -> None:
    with pytest.raises(ConfigError, match=r"^command line: spark_master: needs engine: spark$"):
        load_config(None, {"spark_master": "spark://127.0.0.1:7077"})
    assert load_config(None, {"engine": "spark", "spark_master": "spark://h:7077"}).spark_master == "spark://h:7077"


def test_a_sampled_run_trains_on_max_papers_and_logs_it(mlflow_store, sample_dumps, tmp_path) -> None:
    """Copies of 60 sample papers under new titles are read, but left out of the sample."""
    copies = tmp_path / "copies.jsonl"
    copies.write_text("".join(json.dumps({"title": f"Copy {i}", "abstract": paper.abstract}) + "\n"
                              for i, paper in enumerate(list(read_dumps(sample_dumps))[:60])))
    config = make_config(mlflow_store, kind="tfidf", max_papers=120)
    config.dumps = [*config.dumps, str(copies)]
    result = train(config)
    run = MlflowClient().get_run(result.run_id)
    metrics, params = run.data.metrics, run.data.params
    assert result.n_papers == 506 and metrics["data.papers_read"] == 506
    assert metrics["data.papers_distinct_texts"] == 446  # the samples repeat no abstract
    assert metrics["data.papers_sampled"] == 120 and params["data.train.papers"] == "120"
    assert params["end_model.max_papers"] == "120" and params["label_model.max_rows"] == "50000"
    assert metrics["labels.papers_trained"] <= 120 and metrics["label_model.fit_rows"] == 120
    assert 0 < metrics["labels.keyword_coverage"] < 1
    assert len(params["data.read.fingerprint"]) == 16
