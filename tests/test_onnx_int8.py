"""The int8 ONNX fast path on a tiny BERT: per-token activation scales make a row's logits independent of its batch."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from models.encoder import MeanPoolClassifier, collate, tokenize
from models.onnx_int8 import export_int8_onnx, onnx_forward

WORDS = "protein molecule agent reward policy graph node image diffusion language token gradient".split()


@pytest.fixture(scope="module")
def tiny_int8(tiny_bert_dir):
    """(torch fp32 module, its int8 ONNX forward, tokenizer) for the tiny BERT with a random 5-way head."""
    torch.manual_seed(1)
    module = MeanPoolClassifier(AutoModel.from_pretrained(str(tiny_bert_dir)), 5).eval()
    int8 = export_int8_onnx(module)
    return module, int8, AutoTokenizer.from_pretrained(str(tiny_bert_dir))


def token_ids(tokenizer, n_words: list[int], seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size)) for size in n_words]
    return tokenize(tokenizer, texts, 64)


def test_encoder_matmuls_are_int8_with_per_token_scales_but_the_first_tokens(tiny_int8):
    _, int8, _ = tiny_int8
    graph = onnx.load_from_string(int8).graph
    weights = {initializer.name for initializer in graph.initializer}
    op_types = [node.op_type for node in graph.node]
    assert op_types.count("MatMulIntegerToFloat") == 2 * (3 + 1 + 2)  # 2 layers: q, k, v, output; feed-forward
    assert op_types.count("QuantizeLinear") == 2 * 4  # q, k and v share their input's quantization
    fp32_matmuls = [node for node in graph.node if node.op_type == "MatMul" and node.input[1] in weights]
    assert len(fp32_matmuls) == 2 * (3 + 2) and all("first_token_split" in node.name for node in fp32_matmuls)
    assert "DynamicQuantizeLinear" not in op_types and "DynamicQuantizeMatMul" not in op_types


def test_a_rows_int8_logits_are_the_same_alone_and_in_any_batch(tiny_int8):
    _, int8, tokenizer = tiny_int8
    forward = onnx_forward(int8)
    row, same_length, longer, shorter = token_ids(tokenizer, [12, 12, 30, 3])
    assert len(row) == len(same_length) and len(shorter) < len(row) < len(longer)
    alone = forward(*collate([row], 0)).numpy()[0]
    batches = [([same_length, row, same_length], 1), ([row, longer], 0), ([shorter, row], 1)]
    for batch, position in batches + [([longer, shorter, row, same_length], 2)]:
        input_ids, mask = collate(batch, 0)
        assert bool(mask.all()) == (batch == batches[0][0])  # padded batches run the session with a padding mask
        np.testing.assert_allclose(forward(input_ids, mask).numpy()[position], alone, rtol=0, atol=1e-6)


def test_int8_agrees_with_fp32(tiny_int8):
    module, int8, tokenizer = tiny_int8
    forward = onnx_forward(int8)
    batch = collate(token_ids(tokenizer, list(range(2, 42, 2)), seed=1), 0)
    with torch.inference_mode():
        reference = module(*batch).numpy()
    fast = forward(*batch).numpy()
    spread = reference.max() - reference.min()
    assert 0 < np.abs(fast - reference).max() < 0.05 * spread  # close, yet quantised
    assert (fast.argmax(axis=1) == reference.argmax(axis=1)).mean() >= 0.9
