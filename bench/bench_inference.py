"""Inference speed: plain fp32 forward vs the default fast path (ONNX Runtime int8, length-sorted), same run.

    .venv/bin/python bench/bench_inference.py [--model DIR_OR_MLFLOW_URI] [--papers N] [--max-length 128] \
        [--baseline-export OLD_ONNX_INT8_PY] [--quick]

Each path gets an untimed warm-up call first (the fast path's one-off cost, building the int8 ONNX copy when the
saved model lacks it and opening the session, is reported separately); all paths then run on the same papers,
`--repeats` times round-robin, and the fastest run of each path is reported (the machine is shared and noisy).
Each int8 path also runs one paper per batch: its rows compare that with the same path's default batches (top-1
agreement and the largest probability difference), which per-batch activation scales would make differ.
`--baseline-export` is another version of models/onnx_int8.py (`git show REV:models/onnx_int8.py > old.py`):
its int8 export of the same model gets the same rows, for a before/after comparison in one run.

A --model that averages end models (the shipped MiniLM + TF-IDF) runs every path on its MiniLM member, plus one
row for the average as served.

Without --model, the head of an all-MiniLM-L6-v2 classifier is trained briefly on zero-shot pseudo-targets of
the dev papers themselves (never their gold labels): only for this speed/agreement comparison (the speed is any
MiniLM's; the agreement figures are this head's, not a fine-tuned model's). --quick: 16 papers, one run, a tiny
random encoder (`harness.tiny_encoder`).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from harness import run, shared_data, start, timed, tiny_encoder
from transformers import AutoModel, AutoTokenizer
from zeroshot import ZeroShotClassifier

import models.encoder as encoding
from models import AveragedClassifier, MiniLMClassifier, frame_texts, load_classifier
from models.evaluation import score
from models.onnx_int8 import fused_onnx


def load_model(uri: str, areas: list[str]) -> tuple[MiniLMClassifier, list[str]]:
    """A saved classifier folder (its outputs taken as the sorted area names) or the one inside an MLflow model
    (with its area names), loaded with this checkout's code, not the code snapshot logged with the model."""
    if Path(uri).is_dir():
        return load_classifier(uri), areas
    import mlflow

    from paper_areas.tracking import resolve_tracking_uri

    mlflow.set_tracking_uri(resolve_tracking_uri())  # MLFLOW_TRACKING_URI, else the repo's mlruns.db
    classifier = load_classifier(mlflow.artifacts.download_artifacts(f"{uri.rstrip('/')}/artifacts/classifier"))
    return classifier, mlflow.pyfunc.load_model(uri).unwrap_python_model().names


def untrained_classifier(path: Path, areas: list[str], max_length: int) -> MiniLMClassifier:
    """A MiniLMClassifier on the encoder at `path` with a seeded, untrained head."""
    torch.manual_seed(0)  # the same head in every run
    classifier = MiniLMClassifier(model_path=str(path), max_length=max_length)
    classifier.tokenizer_ = AutoTokenizer.from_pretrained(path)
    classifier.module_ = encoding.MeanPoolClassifier(AutoModel.from_pretrained(path), len(areas)).eval()
    classifier.best_epoch_ = 0
    return classifier


def pseudo_target_classifier(frame: pd.DataFrame, areas: list[str], max_length: int) -> MiniLMClassifier:
    """MiniLM with a head fitted to zero-shot soft targets of `frame` (embeddings computed once, fp32)."""
    classifier = untrained_classifier(encoding.default_model_path(), areas, max_length)
    encoder = classifier.module_.encoder
    embeddings = torch.from_numpy(
        encoding.run_sorted(
            encoding.tokenize(classifier.tokenizer_, frame_texts(frame), max_length),
            32,
            classifier.tokenizer_.pad_token_id,
            lambda ids, mask: encoding.mean_pool(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask),
        )
    )
    zero_shot = ZeroShotClassifier(areas)
    similarities = torch.nn.functional.normalize(embeddings, dim=1) @ torch.from_numpy(zero_shot.embed(areas)).T
    targets = torch.softmax(similarities / zero_shot.temperature, dim=1)
    head = classifier.module_.head
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(300):
        loss = -(targets * torch.log_softmax(head(embeddings), dim=1)).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return classifier


def plain_fp32_proba(classifier: MiniLMClassifier, frame: pd.DataFrame, batch_size: int) -> np.ndarray:
    """The reference: fp32 forward over batches in input order, no quantisation, no length sorting."""
    token_ids = encoding.tokenize(classifier.tokenizer_, frame_texts(frame), classifier.max_length)
    module = classifier.module_.eval()
    logits = []
    with torch.no_grad():
        for start in range(0, len(token_ids), batch_size):
            logits.append(
                module(*encoding.collate(token_ids[start : start + batch_size], classifier.tokenizer_.pad_token_id))
            )
    return torch.softmax(torch.cat(logits), dim=1).numpy()


def variant(classifier: MiniLMClassifier, quantize: bool, onnx_model: bytes | None = None) -> MiniLMClassifier:
    """A shallow copy of `classifier` (same weights and tokenizer) predicting in torch fp32 (`quantize=False`) or
    through `onnx_model` instead of its int8 copy."""
    other = copy.copy(classifier)
    other.quantize = quantize
    if onnx_model is not None:
        other._reset_fast_path(onnx_model)
    return other


def fused_fp32_onnx(classifier: MiniLMClassifier) -> bytes:
    """The fused fp32 export (attention and GELU fused; no quantisation, no first-token split)."""
    with tempfile.TemporaryDirectory() as tmp:
        return fused_onnx(classifier.module_, Path(tmp)).model.SerializeToString()


def baseline_int8_onnx(classifier: MiniLMClassifier, export_file: str) -> bytes:
    """The int8 ONNX copy of `classifier` made by `export_int8_onnx` of another version of models/onnx_int8.py."""
    spec = importlib.util.spec_from_file_location("baseline_onnx_int8", export_file)
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)
    return baseline.export_int8_onnx(classifier.module_)


def one_paper_batches(classifier: MiniLMClassifier) -> MiniLMClassifier:
    """A copy of `classifier` sharing its ONNX session, predicting one paper per batch (as a one-paper request)."""
    single = copy.copy(classifier)
    single.predict_batch_size = 1
    return single


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="saved classifier folder or MLflow model URI (default: pseudo-target head)")
    parser.add_argument("--papers", type=int, help="the first N dev papers (default: all 1,057)")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads of torch and ONNX Runtime")
    parser.add_argument("--predict-batch-size", type=int, help="batch size of the sorted paths (default: model's)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size of the plain fp32 reference")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each path, best one reported")
    parser.add_argument("--rebuild-onnx", action="store_true", help="ignore the model's saved int8 ONNX copy")
    parser.add_argument("--baseline-export", help="another version of models/onnx_int8.py to compare with")


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, add_arguments)
    if args.quick:
        args.papers, args.repeats = 16, 1
    dev = pd.read_json(shared_data("iclr2025-dev.jsonl"), lines=True)
    areas = sorted(dev["label"].unique())
    frame = dev[["title", "abstract"]].iloc[: args.papers]
    average = None
    if args.model:
        classifier, areas = load_model(args.model, areas)
        if isinstance(classifier, AveragedClassifier):  # its MiniLM member takes the paths; the average is one more
            average, classifier = classifier, classifier.members[0]
        source = f"model {args.model}"
        if args.rebuild_onnx:
            classifier._reset_fast_path()
    elif args.quick:
        classifier = untrained_classifier(tiny_encoder(), areas, args.max_length)
        source = "a tiny random encoder with an untrained head (quick)"
    else:
        classifier = pseudo_target_classifier(dev[["title", "abstract"]], areas, args.max_length)
        source = "head fitted to zero-shot pseudo-targets of the dev papers (no gold labels)"
    gold = dev["label"].map({area: index for index, area in enumerate(areas)}).to_numpy()[: args.papers]
    classifier.max_length, classifier.num_threads = args.max_length, args.threads
    classifier.predict_batch_size = args.predict_batch_size or classifier.predict_batch_size
    torch.set_num_threads(args.threads)
    warm_up = frame.iloc[:8]

    classifier.quantize = True
    first_call_seconds, _ = timed(lambda: classifier.predict_proba(warm_up))
    torch_sorted = variant(classifier, quantize=False)
    onnx_fp32 = variant(classifier, quantize=True, onnx_model=fused_fp32_onnx(classifier))
    default = "**default: ONNX Runtime int8, length-sorted**"
    paths = {
        "plain fp32 forward (reference)": lambda papers: plain_fp32_proba(classifier, papers, args.batch_size),
        "fp32, length-sorted, inference_mode": torch_sorted.predict_proba,
        "ONNX Runtime fp32 (fused), length-sorted": onnx_fp32.predict_proba,
        default: classifier.predict_proba,
        "default int8, one paper per batch": one_paper_batches(classifier).predict_proba,
    }
    if average is not None:
        paths["the model as served: the average of int8 MiniLM and its other members"] = average.predict_proba
    same_path_batches = {"default int8, one paper per batch": default}
    if args.baseline_export:
        baseline = variant(classifier, quantize=True, onnx_model=baseline_int8_onnx(classifier, args.baseline_export))
        baseline.predict_proba(warm_up)  # shares its session with its one-paper copy
        paths["baseline int8 (--baseline-export), length-sorted"] = baseline.predict_proba
        paths["baseline int8, one paper per batch"] = one_paper_batches(baseline).predict_proba
        same_path_batches["baseline int8, one paper per batch"] = "baseline int8 (--baseline-export), length-sorted"
    for predict in paths.values():
        predict(warm_up)
    best: dict[str, tuple[np.ndarray, float]] = {}
    for _ in range(args.repeats):  # round-robin, so a busy spell of the machine hits every path alike
        for name, predict in paths.items():
            seconds, probabilities = timed(lambda predict=predict: predict(frame))
            best[name] = (probabilities, min(seconds, best.get(name, (None, math.inf))[1]))
    reference, plain_seconds = best["plain fp32 forward (reference)"]

    rows = []
    for name, (probabilities, seconds) in best.items():
        predicted = probabilities.argmax(axis=1)
        row = {"path": name, "papers/s": round(len(frame) / seconds, 1), "speed-up": round(plain_seconds / seconds, 2),
               "top-1 agreement vs fp32": round(float(np.mean(predicted == reference.argmax(axis=1))), 4)}
        if name in same_path_batches:
            batched = best[same_path_batches[name]][0]
            agreement = np.mean(predicted == batched.argmax(axis=1))
            row["top-1 agreement vs its default batches"] = round(float(agreement), 4)
            row["max prob. diff vs its default batches"] = float(np.abs(probabilities - batched).max())
        rows.append(row | {"gold accuracy": round(score(gold, predicted, areas).accuracy, 4)})
    report.note(papers=len(frame), max_length=args.max_length, threads=args.threads,
                sorted_batch_size=classifier.predict_batch_size, repeats=args.repeats, model=source,
                fast_path_first_call_s=round(first_call_seconds, 1))
    report.table("paths", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
