"""End models on a tiny BERT: learning soft labels, best-epoch choice, save/load, ONNX int8 path, baselines, their
average."""

from __future__ import annotations

import numpy as np
import onnx
import pandas as pd
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

import models.encoder
import models.minilm
import models.registry
from bench.zeroshot import ZeroShotClassifier
from models import (
    AveragedClassifier,
    CalibratedClassifier,
    MiniLMClassifier,
    TfidfClassifier,
    TopLabelIsotonic,
    build_end_model,
    frame_texts,
    load_classifier,
    no_gold_map,
    paper_text,
)
from models.encoder import run_sorted, tokenize
from models.onnx_int8 import export_int8_onnx, fused_onnx, onnx_forward, split_first_token

BIOLOGY = "protein molecule enzyme gene cell chemistry folding binding ligand drug".split()
AGENTS = "agent reward policy environment exploration bandit robot planning value episode".split()


def toy_papers(n_per_area: int = 20, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Papers of two trivially separable areas (of 3), soft labels leaning 0.8 to the right one, and gold."""
    rng = np.random.default_rng(seed)
    rows, gold = [], []
    for area, words in enumerate([BIOLOGY, AGENTS]):
        for _ in range(n_per_area):
            rows.append({"title": " ".join(rng.choice(words, 3)), "abstract": " ".join(rng.choice(words, 12))})
            gold.append(area)
    gold = np.array(gold)
    soft = np.full((len(gold), 3), 0.05)
    soft[np.arange(len(gold)), gold] = 0.8
    soft[np.arange(len(gold)), 1 - gold] = 0.15
    return pd.DataFrame(rows), soft, gold


def tiny_minilm(tiny_bert_dir, **params) -> MiniLMClassifier:
    settings = {"epochs": 4, "batch_size": 8, "learning_rate": 3e-3, "max_length": 32, "warmup_ratio": 0.0,
                "frozen_layers": 0}
    return MiniLMClassifier(model_path=str(tiny_bert_dir), **(settings | params))


@pytest.fixture(scope="module")
def fitted(tiny_bert_dir) -> tuple[MiniLMClassifier, pd.DataFrame, np.ndarray]:
    frame, soft, gold = toy_papers()
    return tiny_minilm(tiny_bert_dir).fit(frame, soft, progress=False), frame, gold


def test_paper_text_puts_title_then_abstract_and_allows_either_empty():
    assert paper_text("Deep nets", "We study them.") == "Deep nets. We study them."
    assert paper_text("Why?", "Because.") == "Why? Because."
    assert paper_text("", " Only abstract ") == "Only abstract"
    assert paper_text("Only title", "") == "Only title"


def test_frame_texts_treats_missing_cells_as_empty_and_rejects_bad_input():
    frame = pd.DataFrame({"title": ["A", None, np.nan], "abstract": [None, "B", "C"]})
    assert frame_texts(frame) == ["A", "B", "C"]
    assert frame_texts(pd.DataFrame({"abstract": ["only"]})) == ["only"]
    with pytest.raises(ValueError, match="'title' or 'abstract' column"):
        frame_texts(pd.DataFrame({"text": ["x"]}))
    with pytest.raises(ValueError, match="row 1: 'title' must be a string"):
        frame_texts(pd.DataFrame({"title": ["x", 3]}))


def test_fit_lowers_loss_and_learns_a_separable_task(fitted):
    classifier, frame, gold = fitted
    losses = [row["train_loss"] for row in classifier.history_]
    assert losses[-1] < losses[0]
    probabilities = classifier.predict_proba(frame)
    assert probabilities.shape == (len(frame), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert (classifier.predict(frame) == gold).mean() >= 0.95
    assert classifier.predict_proba(frame.iloc[:0]).shape == (0, 3)


def test_frozen_layers_stay_as_loaded_and_the_layers_above_learn(tiny_bert_dir):
    frame, soft, gold = toy_papers()
    classifier = tiny_minilm(tiny_bert_dir, frozen_layers=1).fit(frame, soft, progress=False)
    loaded = AutoModel.from_pretrained(str(tiny_bert_dir)).state_dict()
    trained = classifier.module_.encoder.state_dict()
    frozen = [name for name in loaded if name.startswith(("embeddings.", "encoder.layer.0."))]
    above = [name for name in loaded if name.startswith("encoder.layer.1.")]
    assert frozen and above
    assert all(torch.equal(trained[name], loaded[name]) for name in frozen)
    assert all(not torch.equal(trained[name], loaded[name]) for name in above if name.endswith(".weight"))
    assert (classifier.predict(frame) == gold).mean() >= 0.95  # what stays trainable still learns the task
    with pytest.raises(ValueError, match="frozen_layers=3: the encoder has only 2 layers"):
        tiny_minilm(tiny_bert_dir, frozen_layers=3).fit(frame, soft, progress=False)


def test_same_seed_gives_the_same_model(tiny_bert_dir, fitted):
    classifier, frame, _ = fitted
    again = tiny_minilm(tiny_bert_dir).fit(frame, toy_papers()[1], progress=False)
    np.testing.assert_allclose(again.predict_proba(frame), classifier.predict_proba(frame), atol=1e-6)


def test_save_load_round_trip_gives_identical_probabilities(fitted, tmp_path, monkeypatch):
    classifier, frame, _ = fitted
    loaded = MiniLMClassifier.load(classifier.save(tmp_path / "saved"))
    assert (tmp_path / "saved" / "model.safetensors").exists()
    assert (tmp_path / "saved" / "model.int8.onnx").exists()
    monkeypatch.setattr(models.minilm, "export_int8_onnx", None)  # the loaded model must use the saved ONNX copy
    for quantize in (False, True):
        classifier.quantize = loaded.quantize = quantize
        np.testing.assert_allclose(loaded.predict_proba(frame), classifier.predict_proba(frame), atol=1e-6)
    assert loaded.best_epoch_ == classifier.best_epoch_


def test_onnx_int8_path_agrees_with_fp32(fitted):
    classifier, frame, _ = fitted
    fast = classifier.predict_proba(frame)
    classifier.quantize = False
    reference = classifier.predict_proba(frame)
    classifier.quantize = True
    assert (fast.argmax(axis=1) == reference.argmax(axis=1)).mean() >= 0.95
    assert 0 < np.abs(fast - reference).max() < 0.1  # close, yet not the fp32 path
    subset = classifier.predict_proba(frame.iloc[[5, 0]])  # other batches: other int8 activation scales
    np.testing.assert_allclose(subset, fast[[5, 0]], atol=1e-2)


def test_first_token_split_computes_the_same_and_stays_fp32(fitted, tmp_path):
    classifier, frame, _ = fitted
    fused = fused_onnx(classifier.module_, tmp_path)
    before = onnx_forward(fused.model.SerializeToString())
    fp32_nodes = split_first_token(fused.model)
    after = onnx_forward(fused.model.SerializeToString())
    assert len(fp32_nodes) == 2 * (3 + 2)  # 2 layers: query, key, value; two feed-forward MatMuls
    batch = models.encoder.collate(tokenize(classifier.tokenizer_, frame_texts(frame.iloc[:6]), 32), 0)
    np.testing.assert_allclose(after(*batch).numpy(), before(*batch).numpy(), atol=1e-5)
    int8 = onnx.load_from_string(export_int8_onnx(classifier.module_))
    op_types = {node.name: node.op_type for node in int8.graph.node}
    assert all(op_types[name] == "MatMul" for name in fp32_nodes)
    assert sum(op_type == "MatMulIntegerToFloat" for op_type in op_types.values()) == 2 * (3 + 1 + 2)


def test_onnx_forward_matches_torch_on_padded_and_unpadded_batches(fitted, tmp_path):
    classifier = fitted[0]
    forward = onnx_forward(fused_onnx(classifier.module_, tmp_path).model.SerializeToString())
    texts = [" ".join(BIOLOGY[:size] + AGENTS[:size]) for size in (2, 5, 9)]
    token_ids = tokenize(classifier.tokenizer_, texts, 32)
    padded = models.encoder.collate(token_ids, 0)
    unpadded = models.encoder.collate([ids[:5] for ids in token_ids], 0)  # runs the copy without padding mask
    assert not padded[1].all() and unpadded[1].all()
    for batch in (padded, unpadded):
        with torch.inference_mode():
            expected = classifier.module_.eval()(*batch).numpy()
        np.testing.assert_allclose(forward(*batch).numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("max_length", [4, 32, 128])
def test_tokenize_cuts_long_texts_without_changing_their_tokens(tiny_bert_dir, max_length):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    prose = " ".join(BIOLOGY + AGENTS) + ", (re-)weighted; e.g. 3.5x faster. "
    texts = [
        prose * 40,
        "short text",
        "",
        "x" * 3000 + " tail",  # no whitespace within the cut: tokenized whole
        "head" + " " * 3000 + prose * 5,  # the cut keeps too few tokens: tokenized whole
        "supercalifragilistic " * 200,
    ]
    expected = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    assert tokenize(tokenizer, texts, max_length) == expected


@pytest.mark.parametrize("workers", [1, 3])
def test_run_sorted_returns_rows_in_input_order(workers):
    token_ids = [[5, 1, 2], [7], [1, 1, 1, 1, 9], [3, 3], [4]]

    def first_and_length(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.stack([ids[:, 0], mask.sum(dim=1)], dim=1)

    result = run_sorted(token_ids, batch_size=2, pad_id=0, forward=first_and_length, workers=workers)
    np.testing.assert_array_equal(result, [[ids[0], len(ids)] for ids in token_ids])


def test_eval_set_keeps_the_best_epoch_and_reports_each_one(tiny_bert_dir):
    frame, soft, gold = toy_papers()
    flipped_gold = 1 - gold  # gold that disagrees with the labels: the least-trained epoch scores best
    rows = []
    classifier = tiny_minilm(tiny_bert_dir).fit(frame, soft, eval_set=(frame, flipped_gold), on_epoch=rows.append)
    assert rows == classifier.history_
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4]
    assert set(rows[0]) == {"epoch", "train_loss", "gold_accuracy", "gold_macro_f1"}
    f1s = [row["gold_macro_f1"] for row in rows]
    assert classifier.best_epoch_ == int(np.argmax(f1s)) + 1 < 4
    kept_accuracy = (classifier.predict(frame) == flipped_gold).mean()
    assert kept_accuracy == pytest.approx(rows[classifier.best_epoch_ - 1]["gold_accuracy"])


def test_bad_soft_labels_are_rejected(tiny_bert_dir):
    frame, soft, _ = toy_papers(2)
    with pytest.raises(ValueError, match="shape"):
        tiny_minilm(tiny_bert_dir).fit(frame, soft[:-1], progress=False)
    with pytest.raises(ValueError, match="positive total"):
        tiny_minilm(tiny_bert_dir).fit(frame, np.zeros_like(soft), progress=False)


def test_tfidf_learns_soft_labels_and_round_trips(tmp_path):
    frame, soft, gold = toy_papers()
    rows = []
    classifier = TfidfClassifier(min_df=1).fit(frame, soft, eval_set=(frame, gold), on_epoch=rows.append)
    probabilities = classifier.predict_proba(frame)
    assert probabilities.shape == (len(frame), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == gold).all()
    assert rows == classifier.history_ and rows[0]["gold_accuracy"] == 1.0
    loaded = TfidfClassifier.load(classifier.save(tmp_path / "tfidf"))
    np.testing.assert_allclose(loaded.predict_proba(frame), probabilities)


def test_an_average_predicts_its_members_mean_and_round_trips_with_its_calibration(tiny_bert_dir, tmp_path):
    frame, soft, gold = toy_papers()
    rows = []
    average = AveragedClassifier([tiny_minilm(tiny_bert_dir), TfidfClassifier(min_df=1)])
    assert average.fit(frame, soft, eval_set=(frame, gold), on_epoch=rows.append, progress=False) is average
    minilm, tfidf = average.members
    assert rows == minilm.history_ and [row["epoch"] for row in rows] == [1, 2, 3, 4]  # the main member's epochs
    assert average.best_epoch_ == minilm.best_epoch_ and len(tfidf.history_) == 1
    members = average.member_probabilities(frame)
    np.testing.assert_allclose(members[0], minilm.predict_proba(frame))
    np.testing.assert_allclose(average.predict_proba(frame), (members[0] + members[1]) / 2)
    assert not np.allclose(members[0], members[1])  # two views, two opinions

    raw = average.predict_proba(frame)
    calibrated = CalibratedClassifier(average, TopLabelIsotonic().fit(raw, gold))
    np.testing.assert_allclose(average.predict_proba(frame), raw)  # wrapping leaves the model as it was
    np.testing.assert_allclose(calibrated.predict_proba(frame), calibrated.calibrator.transform(raw))
    loaded = load_classifier(calibrated.save(tmp_path / "average"))
    assert isinstance(loaded, CalibratedClassifier) and isinstance(loaded.model, AveragedClassifier)
    assert [type(m) for m in loaded.model.members] == [MiniLMClassifier, TfidfClassifier]
    assert loaded.calibrator == calibrated.calibrator  # the mean is calibrated, not its members
    np.testing.assert_allclose(loaded.predict_proba(frame), calibrated.predict_proba(frame), atol=1e-6)
    lone = AveragedClassifier([minilm])
    with pytest.raises(ValueError, match="at least two members"):
        lone.fit(frame, soft, progress=False)


def test_zero_shot_scores_each_paper_against_each_description(tiny_bert_dir):
    descriptions = ["protein folding and drug binding", "reward driven agents", "graph neural networks"]
    classifier = ZeroShotClassifier(descriptions, model_path=str(tiny_bert_dir))
    frame = pd.DataFrame({"title": descriptions[::-1], "abstract": [""] * 3})
    assert classifier.fit(frame, np.ones((3, 3))) is classifier
    probabilities = classifier.predict_proba(frame)
    assert probabilities.shape == (3, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert list(classifier.predict(frame)) == [2, 1, 0]


def test_the_registry_builds_each_kind_from_config_keys_and_averages_in_the_order_given():
    settings = {"end_model.seed": 7, "end_model.model_path": None, "end_model.max_length": 64, "end_model.epochs": 1,
                "end_model.batch_size": 4, "end_model.learning_rate": 0.01, "end_model.frozen_layers": 1,
                "embeddings.model_path": None, "embeddings.max_length": 32, "embeddings.cache_dir": None}
    assert build_end_model(["tfidf"], settings) == TfidfClassifier(seed=7)
    average = build_end_model(["tfidf", "minilm"], settings)
    assert isinstance(average, AveragedClassifier)
    assert average.members[1] == MiniLMClassifier(max_length=64, epochs=1, batch_size=4, learning_rate=0.01,
                                                  frozen_layers=1, seed=7)
    for kind, entry in models.registry.END_MODELS.items():  # saved folders name the class's KIND
        assert getattr(entry.estimator_class(), "KIND", kind) == entry.saved_kind


def test_the_no_gold_map_of_an_average_does_not_depend_on_member_order():
    assert no_gold_map(["tfidf", "minilm"]).state() == no_gold_map(["minilm", "tfidf"]).state()
    assert no_gold_map(["minilm", "tfidf"]) is not no_gold_map(["minilm", "tfidf"])  # a copy each time
    assert no_gold_map(["embedding"]) is None


def test_importing_the_kinds_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, models.registry; print(sorted({'torch', 'transformers', 'mlflow'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
