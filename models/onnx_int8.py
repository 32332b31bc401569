"""Fast CPU inference: the MiniLM classifier exported to ONNX, int8-quantised and run in ONNX Runtime."""

from __future__ import annotations

import copy
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from models.encoder import MeanPoolClassifier

if TYPE_CHECKING:
    from onnx import GraphProto, ModelProto, NodeProto
    from onnxruntime.transformers.onnx_model import OnnxModel

ONNX_INPUTS = ("input_ids", "attention_mask")
# ONNX Runtime would fuse each residual Add and LayerNormalization into one SkipLayerNormalization, whose CPU
# kernel takes several times as long as the two ops it replaces (20% of the int8 model's time on 128 tokens).
UNFUSED_PATTERNS = ["SkipLayerNormFusion"]
GELU_OPS = ("Gelu", "BiasGelu", "FastGelu")
INT8_MAX = 127
# Names of the constants `quantize_per_token` adds.
ONE, INV_INT8_MAX, SMALLEST_MAX, ZERO_POINT, ROW = (
    f"per_token_int8/{name}" for name in ("one", "inv_max", "tiny", "zp", "row")
)


def export_int8_onnx(module: MeanPoolClassifier) -> bytes:
    """`module` (encoder, mean pooling, head) as an int8 ONNX model for ONNX Runtime on the CPU.

    Every encoder MatMul runs in int8 with per-channel weights and one activation scale per token
    (`quantize_per_token`), so a paper's logits do not depend on which papers share its batch, except the first
    token's projections: MiniLM's [CLS] token carries activations ten times larger (20-30) than any other token's in
    one channel, which would cost its other channels their resolution and, through attention, every token some
    accuracy (see `split_first_token`). Embeddings, attention scores and head stay fp32.
    """
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fused_onnx(module, Path(tmp)).model
    fp32_nodes = set(split_first_token(model))
    quantize_per_token(model, keep_fp32=lambda node: node.name in fp32_nodes or node.name.startswith("/head/"))
    return model.SerializeToString()


def fused_onnx(module: MeanPoolClassifier, directory: Path) -> OnnxModel:
    """`module` exported to fp32 ONNX (dynamic batch and sequence axes) with attention and GELU fused by ONNX
    Runtime's transformer optimizer, as its `OnnxModel`; `directory` holds the intermediate file."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    eager = copy.deepcopy(module).eval()
    eager.encoder.set_attn_implementation("eager")  # the attention graph ONNX Runtime's optimizer can fuse
    config = eager.encoder.config
    example = (torch.ones((2, 8), dtype=torch.long), torch.ones((2, 8), dtype=torch.long))
    axes = {name: {0: "batch", 1: "sequence"} for name in ONNX_INPUTS} | {"logits": {0: "batch"}}
    exported = directory / "fp32.onnx"
    # The TorchScript exporter: the dynamo exporter's attention graph is not fused by the optimizer.
    torch.onnx.export(eager, example, exported, input_names=list(ONNX_INPUTS), output_names=["logits"],
                      dynamic_axes=axes, opset_version=17, dynamo=False)
    fusion = FusionOptions("bert")
    fusion.enable_skip_layer_norm = False
    fusion.use_multi_head_attention = True  # query, key and value as MatMuls of their own
    return optimize_model(str(exported), "bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size,
                          opt_level=0, optimization_options=fusion)


def split_first_token(model: ModelProto) -> list[str]:
    """Run the first token of `model` through fp32 copies of its per-token projections; return the copies' names.

    The projections are the query, key and value MatMuls and each feed-forward block (MatMul, GELU, MatMul). They
    act on every token alone, so slicing token 0 off their input, running it through a copy and the other tokens
    through the original, and concatenating the two along the sequence axis computes exactly the same; with the
    copies kept fp32, token 0's outliers no longer set the int8 activation scale of the other tokens.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {initializer.name for initializer in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def weight_matmul(node) -> bool:
        return node.op_type == "MatMul" and node.input[1] in weights

    def only_consumer(node, op_types: tuple[str, ...]):
        following = consumers.get(node.output[0], [])
        return following[0] if len(following) == 1 and following[0].op_type in op_types else None

    chains: dict[str, list[list]] = {}  # input tensor -> the node chains reading it
    for node in filter(weight_matmul, graph.node):
        gelu = only_consumer(node, GELU_OPS)
        second = gelu and only_consumer(gelu, ("MatMul",))
        if second and weight_matmul(second):
            chains.setdefault(node.input[0], []).append([node, gelu, second])
        elif any(following.op_type == "MultiHeadAttention" for following in consumers.get(node.output[0], [])):
            chains.setdefault(node.input[0], []).append([node])
    graph.initializer.extend(
        numpy_helper.from_array(np.array([value], dtype=np.int64), name)
        for name, value in [("zero", 0), ("one", 1), ("end", np.iinfo(np.int64).max), ("token_axis", 1)]
    )
    replacements: dict[str, list] = {}
    fp32_nodes: list[str] = []
    for site, (source, site_chains) in enumerate(chains.items()):
        prefix = f"first_token_split_{site}"
        nodes = [helper.make_node("Slice", [source, start, stop, "token_axis"], [f"{prefix}/{part}"],
                                  name=f"{prefix}/{part}")
                 for part, start, stop in [("first", "zero", "one"), ("rest", "one", "end")]]
        for number, chain in enumerate(site_chains):
            for part in ("first", "rest"):
                previous = f"{prefix}/{part}"
                for position, original in enumerate(chain):
                    node = copy.deepcopy(original)
                    node.name = f"{prefix}/{number}/{part}/{position}"
                    node.input[0] = previous
                    node.output[0] = previous = node.name
                    nodes.append(node)
                    if part == "first" and node.op_type == "MatMul":
                        fp32_nodes.append(node.name)
            outputs = [f"{prefix}/{number}/{part}/{len(chain) - 1}" for part in ("first", "rest")]
            nodes.append(helper.make_node("Concat", outputs, [chain[-1].output[0]], name=f"{prefix}/{number}", axis=1))
        replacements |= {node.name: [] for chain in site_chains for node in chain}
        heads = {chain[0].name for chain in site_chains}
        replacements[next(node.name for node in graph.node if node.name in heads)] = nodes  # the first in graph order
    _replace_nodes(graph, replacements)
    return fp32_nodes


def _replace_nodes(graph: GraphProto, replacements: dict[str, list[NodeProto]]) -> None:
    """Each node of `graph` named in `replacements` replaced, in place in graph order, by the nodes listed."""
    ordered = [new for node in graph.node for new in replacements.get(node.name, [node])]
    del graph.node[:]
    graph.node.extend(ordered)


def quantize_per_token(model: ModelProto, keep_fp32: Callable[[NodeProto], bool]) -> None:
    """Replace each MatMul of `model` by a constant weight, except where `keep_fp32`, with an int8 one in place.

    The weights are int8, symmetric per output channel. Each token's input vector x gets its own scale s =
    max|x| / 127 (computed in the graph; one per input tensor, shared by the query, key and value projections):
    round(x / s) + 128 as uint8 (the u8 x s8 form ONNX Runtime's x86 kernels run fastest), MatMulIntegerToFloat
    with the weights and their scales, times s: a token's result depends on that token alone, whatever the batch.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    weights = {initializer.name: initializer for initializer in graph.initializer}
    sites: dict[str, list[NodeProto]] = {}  # input tensor -> the weight MatMuls reading it
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights and not keep_fp32(node):
            sites.setdefault(node.input[0], []).append(node)
    constants = [(ONE, 1.0, np.float32), (INV_INT8_MAX, 1 / INT8_MAX, np.float32), (SMALLEST_MAX, 1e-30, np.float32),
                 (ZERO_POINT, 128, np.uint8), (ROW, [-1], np.int64)]
    graph.initializer.extend(numpy_helper.from_array(np.array(value, dtype=dtype), name)
                             for name, value, dtype in constants)
    zero_point = numpy_helper.from_array(np.array([128], dtype=np.uint8))
    replacements: dict[str, list[NodeProto]] = {}
    for site, (source, matmuls) in enumerate(sites.items()):
        prefix = f"per_token_int8_{site}"
        scale, quantized = f"{prefix}/scale", f"{prefix}/quantized"
        width = weights[matmuls[0].input[1]].dims[0]
        rows_shape = numpy_helper.from_array(np.array([-1, width], dtype=np.int64), f"{prefix}/token_rows_shape")
        graph.initializer.append(rows_shape)
        nodes = [
            helper.make_node("ReduceMax", [source], [f"{prefix}/max"], axes=[-1]),
            helper.make_node("ReduceMin", [source], [f"{prefix}/min"], axes=[-1]),
            helper.make_node("Neg", [f"{prefix}/min"], [f"{prefix}/minus_min"]),
            helper.make_node("Max", [f"{prefix}/max", f"{prefix}/minus_min", SMALLEST_MAX], [f"{prefix}/abs_max"]),
            helper.make_node("Mul", [f"{prefix}/abs_max", INV_INT8_MAX], [scale]),
            # QuantizeLinear takes one scale per row of a matrix: the tokens as rows.
            helper.make_node("Reshape", [scale, ROW], [f"{prefix}/row_scale"]),
            helper.make_node("Shape", [f"{prefix}/row_scale"], [f"{prefix}/rows"]),
            helper.make_node("ConstantOfShape", [f"{prefix}/rows"], [f"{prefix}/row_zero_point"], value=zero_point),
            helper.make_node("Reshape", [source, f"{prefix}/token_rows_shape"], [f"{prefix}/token_rows"]),
            helper.make_node("QuantizeLinear", [f"{prefix}/token_rows", f"{prefix}/row_scale",
                                                f"{prefix}/row_zero_point"], [f"{prefix}/quantized_rows"], axis=0),
            helper.make_node("Shape", [source], [f"{prefix}/shape"]),
            helper.make_node("Reshape", [f"{prefix}/quantized_rows", f"{prefix}/shape"], [quantized]),
        ]
        for matmul in matmuls:
            weight = numpy_helper.to_array(weights[matmul.input[1]]).astype(np.float32)
            weight_scale = np.maximum(np.abs(weight).max(axis=0), 1e-30) / INT8_MAX
            int8_weight, weight_scale_name = f"{matmul.name}/int8_weight", f"{matmul.name}/weight_scale"
            graph.initializer.extend([
                numpy_helper.from_array(np.round(weight / weight_scale).astype(np.int8), int8_weight),
                numpy_helper.from_array(weight_scale.astype(np.float32), weight_scale_name),
            ])
            nodes += [
                helper.make_node("MatMulIntegerToFloat", [quantized, int8_weight, ONE, weight_scale_name, ZERO_POINT],
                                 [f"{matmul.name}/per_token"], domain="com.microsoft"),
                helper.make_node("Mul", [f"{matmul.name}/per_token", scale], [matmul.output[0]]),
            ]
            replacements[matmul.name] = []
        for position, node in enumerate(nodes):
            node.name = f"{prefix}/{position}"
        replacements[matmuls[0].name] = nodes  # the first reader in graph order: `source` exists there
    _replace_nodes(graph, replacements)
    still_read = {name for node in graph.node for name in node.input}
    kept = [initializer for initializer in graph.initializer if initializer.name in still_read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def onnx_forward(model: bytes) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A `run_sorted` forward running the ONNX `model` in ONNX Runtime (all graph optimisations) on the CPU.
    Batches without padding (nearly all at 128 tokens: abstracts are longer) run a copy whose attention takes no
    padding mask, which lets ONNX Runtime use its faster unmasked attention kernel; padded batches run `model`.
    Each call runs on one thread: use `run_sorted` workers for more cores (faster than threads within an op)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # the unmasked copy's now unused mask nodes are dropped with a warning each
    masked, unmasked = (
        onnxruntime.InferenceSession(variant, options, providers=["CPUExecutionProvider"],
                                     disabled_optimizers=UNFUSED_PATTERNS)
        for variant in (model, without_attention_mask(model))
    )

    def forward(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        session = unmasked if bool(attention_mask.all()) else masked
        feed = dict(zip(ONNX_INPUTS, (input_ids.numpy(), attention_mask.numpy()), strict=True))
        return torch.from_numpy(session.run(None, feed)[0])

    return forward


def without_attention_mask(model: bytes) -> bytes:
    """`model` with the padding mask of every MultiHeadAttention dropped: the same results on unpadded batches."""
    import onnx

    proto = onnx.load_from_string(model)
    for node in proto.graph.node:
        if node.op_type == "MultiHeadAttention":
            del node.input[4:]  # query, key, value, bias; then key_padding_mask
    return proto.SerializeToString()
