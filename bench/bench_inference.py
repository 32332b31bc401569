"""Inference speed: plain fp32 forward vs the default fast path (length-sorted batches + int8), same run.

    .venv/bin/python bench/bench_inference.py [--model DIR_OR_MLFLOW_URI] [--papers 1000] [--max-length 256]

Without --model, the head of an all-MiniLM-L6-v2 classifier is trained briefly on zero-shot pseudo-targets of
the dev papers themselves (never their gold labels): only for this speed/agreement comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import models.encoder as encoding  # noqa: E402
from evaluation import score  # noqa: E402
from models import MiniLMClassifier, ZeroShotClassifier, frame_texts, load_classifier  # noqa: E402

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "iclr2025-dev.jsonl"


def load_model(uri: str) -> MiniLMClassifier:
    if Path(uri).is_dir():
        return load_classifier(uri)
    import mlflow

    return mlflow.pyfunc.load_model(uri).unwrap_python_model().classifier


def pseudo_target_classifier(frame: pd.DataFrame, areas: list[str], max_length: int) -> MiniLMClassifier:
    """MiniLM with a head fitted to zero-shot soft targets of `frame` (embeddings computed once, fp32)."""
    path = encoding.default_model_path()
    classifier = MiniLMClassifier(max_length=max_length)
    classifier.tokenizer_ = encoding.load_tokenizer(path)
    classifier.module_ = encoding.MeanPoolClassifier(encoding.load_encoder(path), len(areas)).eval()
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
    classifier.best_epoch_ = 0
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


def timed(predict) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    probabilities = predict()
    return probabilities, time.perf_counter() - start


def markdown_table(rows: list[dict]) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(row[key]) for key in header) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="saved classifier folder or MLflow model URI (default: pseudo-target head)")
    parser.add_argument("--papers", type=int, default=1000)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32, help="batch size of the plain fp32 reference")
    args = parser.parse_args()

    dev = pd.read_json(DEV, lines=True)
    areas = sorted(dev["label"].unique())
    gold = dev["label"].map({area: index for index, area in enumerate(areas)}).to_numpy()
    frame = dev[["title", "abstract"]].iloc[: args.papers]
    gold = gold[: args.papers]
    if args.model:
        classifier = load_model(args.model)
        source = f"model {args.model}"
    else:
        classifier = pseudo_target_classifier(dev[["title", "abstract"]], areas, args.max_length)
        source = "head fitted to zero-shot pseudo-targets of the dev papers (no gold labels)"
    classifier.max_length = args.max_length

    reference, plain_seconds = timed(lambda: plain_fp32_proba(classifier, frame, args.batch_size))
    classifier.quantize = False
    sorted_fp32, sorted_seconds = timed(lambda: classifier.predict_proba(frame))
    classifier.quantize = True
    fast, fast_seconds = timed(lambda: classifier.predict_proba(frame))

    rows = []
    for name, probabilities, seconds in [
        ("plain fp32 forward (reference)", reference, plain_seconds),
        ("fp32, length-sorted, inference_mode", sorted_fp32, sorted_seconds),
        ("**default: int8 dynamic + length-sorted**", fast, fast_seconds),
    ]:
        predicted = probabilities.argmax(axis=1)
        rows.append(
            {
                "path": name,
                "papers/s": f"{len(frame) / seconds:.1f}",
                "speed-up": f"{plain_seconds / seconds:.2f}x",
                "top-1 agreement vs fp32": f"{np.mean(predicted == reference.argmax(axis=1)):.3f}",
                "gold accuracy": f"{score(gold, predicted, areas).accuracy:.4f}",
            }
        )
    print(f"{len(frame)} dev papers, max_length {args.max_length}, {torch.get_num_threads()} threads; {source}\n")
    print(markdown_table(rows))
    print(json.dumps({"load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
