"""How many hand labels the weak labels are worth. The product's end model, trained on weak labels,
against the same learners trained on n gold labels of one dev half and measured on the other half.

    .venv/bin/python bench/bench_hand_labels.py --model sqlite:////STORE.db models:/paper-area-classifier/1 \
        configs/iclr.yaml [--cache-dir DIR] [--sizes 25 50 100 200 400] [--draws 10] [--quick]   # then a whole half

The model (STORE, MODEL_URI, CONFIG: the config gives its gold and taxonomy) is read uncalibrated on its gold, each
member of an average as well, and scored on half A and half B (`evaluation.split_by_id`). The supervised rows: the
product's TF-IDF and frozen-embedding end models with their default settings, the mean of the two, and a linear
SVM on the TF-IDF features (the issues' supervised anchors are TF-IDF SVMs), fitted on n papers drawn from one half
with their gold area as a one-hot label and scored on the other half, both ways round, `--draws` draws per n (one
where n is the whole half). Beside them, the weak model with per-area offsets and the
isotonic map fitted on the same n papers (what `train.py calibrate --class-offsets` does with n labels). Every
cell is the mean over both directions and the draws: accuracy / macro-F1, each half scored on its own. Gold is
a training label here only inside this comparison (the supervised rows), never for a shipped model. --quick: the
quick model, 10 labels, 2 draws, the tiny encoder for the embedding learner.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from harness import config_gold, quick_model, run, start, views
from sklearn.svm import LinearSVC

from models import EmbeddingLogisticClassifier, TfidfClassifier, frame_texts, new_calibrator
from models.evaluation import score

# A learner: (training papers, their gold indices, test papers, number of areas) -> test probabilities.
Learner = Callable[..., np.ndarray]


def supervised(*models) -> Learner:
    """Refit each of `models` on one-hot gold labels; the mean of their probabilities on the test papers."""
    def learn(train_frame, train_y, test_frame, n_areas: int) -> np.ndarray:
        one_hot = np.eye(n_areas)[train_y]
        return np.mean([model.fit(train_frame, one_hot, progress=False).predict_proba(test_frame)
                        for model in models], axis=0)
    return learn


def tfidf_svm(train_frame, train_y, test_frame, n_areas: int) -> np.ndarray:
    """A linear SVM on the TF-IDF end model's features (the kind of model behind the issues' supervised anchors):
    one-hot (N, K) predictions."""
    vectorizer = TfidfClassifier()  # its vectoriser settings, without fitting its logistic regression
    features = vectorizer._features(frame_texts(train_frame), fit=True)
    svm = LinearSVC().fit(features, train_y)
    predicted = svm.predict(vectorizer._features(frame_texts(test_frame), fit=False))
    return np.eye(n_areas)[predicted]


def draws_of(half: np.ndarray, size: int, draws: int, seed: int) -> list[np.ndarray]:
    """Indices of `size` papers drawn from `half` (a mask), `draws` times; the whole half once if size covers it."""
    members = np.flatnonzero(half)
    if size >= len(members):
        return [members]
    rng = np.random.default_rng(seed)
    return [rng.choice(members, size, replace=False) for _ in range(draws)]


def mean_scores(pairs: list[tuple[np.ndarray, np.ndarray]], names: list[str]) -> dict[str, float]:
    """Mean accuracy and macro-F1 over (gold, predicted) pairs."""
    results = [score(y, predicted, names) for y, predicted in pairs]
    return {"accuracy": float(np.mean([result.accuracy for result in results])),
            "macro-F1": float(np.mean([result.macro_f1 for result in results]))}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", nargs=3, metavar=("STORE", "MODEL_URI", "CONFIG"))
    parser.add_argument("--cache-dir", help="embedding cache for the frozen-embedding learner")
    parser.add_argument("--sizes", nargs="+", type=int, default=[25, 50, 100, 200, 400],
                        help="numbers of hand labels drawn from a half (a whole half is always measured last)")
    parser.add_argument("--draws", type=int, default=10)


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, add_arguments)
    spec = quick_model() if args.quick else args.model
    if not spec:
        raise SystemExit("give --model STORE MODEL_URI CONFIG")
    sizes, draws = ([10], 2) if args.quick else (args.sizes, args.draws)
    config, taxonomy, gold = config_gold(spec[2])
    names, n_areas = taxonomy.names, len(taxonomy.names)
    weak_views = views(*spec)
    half_a = weak_views[0].half_a
    halves = ((half_a, ~half_a), (~half_a, half_a))  # (train on, test on), both ways round
    report.note(gold_papers=len(gold.y), half_a=int(half_a.sum()), half_b=int((~half_a).sum()))
    rows = []
    for view in weak_views:
        predicted = view.probabilities.argmax(axis=1)
        pairs = [(gold.y[test], predicted[test]) for _, test in halves]
        rows.append({"predictor": f"weak labels: {view.name} (the product's, uncalibrated)", "hand labels": 0,
                     **mean_scores(pairs, names)})
    embedding = EmbeddingLogisticClassifier(model_path=config.embeddings.model_path, cache_dir=args.cache_dir)
    tfidf = TfidfClassifier()
    learners: dict[str, Learner] = {
        "tfidf": supervised(tfidf),
        "embedding": supervised(embedding),
        "tfidf + embedding": supervised(tfidf, embedding),
        "tfidf, linear SVM": tfidf_svm,
    }
    weak = weak_views[0]
    whole_half = len(gold.y)
    for size in [*sizes, whole_half]:
        samples = [(drawn, test) for direction, (train, test) in enumerate(halves)
                   for drawn in draws_of(train, size, draws, seed=size * 2 + direction)]
        label = f"{len(samples[0][0])} / {len(samples[-1][0])}" if size == whole_half else str(size)
        offsets = []
        for drawn, test in samples:
            fitted = new_calibrator("isotonic", class_offsets=True).fit(weak.probabilities[drawn], gold.y[drawn])
            offsets.append((gold.y[test], fitted.transform(weak.probabilities[test]).argmax(axis=1)))
        rows.append({"predictor": f"weak labels: {weak.name} + offsets and isotonic map fitted on the hand labels",
                     "hand labels": label, **mean_scores(offsets, names)})
        for name, learn in learners.items():
            pairs = [(gold.y[test], learn(gold.frame.iloc[drawn], gold.y[drawn], gold.frame[test], n_areas)
                      .argmax(axis=1)) for drawn, test in samples]
            rows.append({"predictor": f"supervised: {name} on hand labels", "hand labels": label,
                         **mean_scores(pairs, names)})
            print(rows[-1], flush=True)
    report.table("accuracy / macro-F1, the mean of both halves", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
