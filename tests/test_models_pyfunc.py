"""The MLflow pyfunc wrapper: logged, registered and loaded from a temporary sqlite store."""

from __future__ import annotations

import logging
import subprocess
import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from models import EmbeddingLogisticClassifier, MiniLMClassifier, TfidfClassifier, log_pyfunc_model
from models.pyfunc import MAX_PAPER_CHARS, PaperAreaModel

SLUGS = ["vision", "language", "theory"]
NAMES = ["Computer vision", "Natural language processing", "Learning theory"]
PAPERS = pd.DataFrame(
    {
        "title": ["Image segmentation with convolutions", "Parsing sentences", "Generalization bounds"] * 4,
        "abstract": ["pixels images objects", "tokens words translation", "theorem proof complexity"] * 4,
    }
)
SOFT = np.tile(np.eye(3) * 0.7 + 0.1, (4, 1))


@pytest.fixture()
def mlflow_store(tmp_path):
    previous = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path}/mlruns.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=mlflow.create_experiment("models", artifact_location=str(tmp_path / "art")))
    yield uri
    mlflow.set_tracking_uri(previous)


def _log(classifier, registered_model_name: str | None = None, taxonomy: str | None = None) -> str:
    with mlflow.start_run():
        info = log_pyfunc_model(classifier, SLUGS, NAMES, registered_model_name=registered_model_name,
                                taxonomy=taxonomy)
    return info.model_uri


def _check_predictions(predictions: pd.DataFrame, n_rows: int) -> None:
    assert list(predictions.columns[:3]) == ["area", "area_name", "confidence"]
    assert list(predictions.columns[3:]) == [f"prob_{slug}" for slug in SLUGS]
    assert len(predictions) == n_rows and set(predictions["area"]) <= set(SLUGS)
    assert (predictions["area_name"] == predictions["area"].map(dict(zip(SLUGS, NAMES, strict=True)))).all()
    np.testing.assert_allclose(predictions.filter(like="prob_").sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(predictions["confidence"], predictions.filter(like="prob_").max(axis=1))


def test_minilm_pyfunc_registers_loads_in_a_fresh_process_and_rejects_bad_input(mlflow_store, tiny_bert_dir):
    classifier = MiniLMClassifier(model_path=str(tiny_bert_dir), epochs=2, batch_size=4, learning_rate=3e-3,
                                  frozen_layers=0)
    _log(classifier.fit(PAPERS, SOFT, progress=False), registered_model_name="paper-area-classifier")
    model = mlflow.pyfunc.load_model("models:/paper-area-classifier/1")
    odd_rows = pd.DataFrame(
        {"title": ["Parsing sentences", "", None], "abstract": ["", "theorem proof complexity", "pixels images"]}
    )
    predictions = model.predict(odd_rows)
    _check_predictions(predictions, 3)
    np.testing.assert_allclose(
        predictions.filter(like="prob_").to_numpy(), classifier.predict_proba(odd_rows), atol=1e-5
    )
    _check_predictions(model.predict(pd.DataFrame({"title": ["Only a title"]})), 1)
    with pytest.raises(MlflowException):
        model.predict(pd.DataFrame({"text": ["neither column"]}))
    with pytest.raises(MlflowException):
        model.predict(pd.DataFrame({"title": [3.5], "abstract": [["a", "list"]]}))

    script = (
        "import sys, mlflow, pandas as pd; assert 'models' not in sys.modules; "
        f"mlflow.set_tracking_uri({mlflow_store!r}); "
        "m = mlflow.pyfunc.load_model('models:/paper-area-classifier/1'); "
        "import models.minilm; models.minilm.export_int8_onnx = None; "  # must run the logged ONNX copy
        "print(m.predict(pd.DataFrame({'title': ['Parsing sentences'], 'abstract': ['tokens']}))['area'][0])"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", script],
        cwd=mlflow_store.removeprefix("sqlite:///").rsplit("/", 1)[0],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert fresh.stdout.strip().splitlines()[-1] == predictions["area"][0]


def test_tfidf_pyfunc_round_trip(mlflow_store):
    classifier = TfidfClassifier(min_df=1).fit(PAPERS, SOFT)
    model = mlflow.pyfunc.load_model(_log(classifier))
    predictions = model.predict(PAPERS)
    _check_predictions(predictions, len(PAPERS))
    assert list(predictions["area"]) == [SLUGS[i] for i in classifier.predict(PAPERS)]


def test_a_model_logged_with_its_taxonomy_names_it_in_its_metadata_and_every_prediction(mlflow_store):
    model = mlflow.pyfunc.load_model(_log(TfidfClassifier(min_df=1).fit(PAPERS, SOFT), taxonomy="mine"))
    assert model.metadata.metadata == {"taxonomy": "mine"}
    assert model.metadata.signature.outputs.input_names()[:4] == ["area", "area_name", "confidence", "taxonomy"]
    predictions = model.predict(PAPERS)
    assert predictions["taxonomy"].tolist() == ["mine"] * len(PAPERS)
    _check_predictions(predictions.drop(columns="taxonomy"), len(PAPERS))
    assert list(model.predict(PAPERS.iloc[:0]).columns) == list(predictions.columns)


def test_the_embedding_logistic_end_model_logs_and_loads(mlflow_store, tiny_bert_dir):
    classifier = EmbeddingLogisticClassifier(model_path=str(tiny_bert_dir), max_length=32).fit(PAPERS, SOFT)
    predictions = mlflow.pyfunc.load_model(_log(classifier)).predict(PAPERS)
    _check_predictions(predictions, len(PAPERS))
    np.testing.assert_allclose(predictions.filter(like="prob_").to_numpy(), classifier.predict_proba(PAPERS),
                               atol=1e-6)


def test_input_errors_are_the_clients_and_internal_errors_are_logged_500s(caplog):
    wrapper = PaperAreaModel(SLUGS, NAMES)
    wrapper.classifier = TfidfClassifier(min_df=1).fit(PAPERS, SOFT)
    empty = wrapper.predict(None, pd.DataFrame())
    assert len(empty) == 0 and list(empty.columns[3:]) == [f"prob_{slug}" for slug in SLUGS]
    for frame, message in [
        (pd.DataFrame({"foo": ["bar"]}), "bad input: input needs a 'title' or 'abstract' column; got columns ['foo']"),
        (pd.DataFrame({"title": ["A title", None, ""] * 3, "abstract": [None] * 9}),
         "bad input: rows 1, 2, 4, 5, 7 (and 1 more): no title or abstract"),
        (pd.DataFrame({"junk": []}), "bad input: input needs a 'title' or 'abstract' column; got columns ['junk']"),
        (pd.DataFrame({"title": ["A title", "t" * 10], "abstract": [None, "a" * (MAX_PAPER_CHARS - 9)]}),
         "bad input: row 1: title and abstract together over 1,048,576 characters"),
    ]:
        with pytest.raises(MlflowException) as raised:
            wrapper.predict(None, frame)
        assert raised.value.message == message and raised.value.get_http_status_code() == 400

    at_the_cap = pd.DataFrame({"title": ["t" * 10], "abstract": ["a" * (MAX_PAPER_CHARS - 10)]})
    assert len(wrapper.predict(None, at_the_cap)) == 1

    wrapper.classifier = TfidfClassifier(min_df=1)  # never fitted: sklearn's NotFittedError is a ValueError
    with caplog.at_level(logging.ERROR, logger="models.pyfunc"), pytest.raises(MlflowException) as raised:
        wrapper.predict(None, PAPERS)
    assert raised.value.get_http_status_code() == 500 and raised.value.message.startswith("internal error: ")
    assert [record.message for record in caplog.records] == [f"predicting {len(PAPERS)} papers failed"]
    assert caplog.records[0].exc_info is not None  # the traceback is logged
