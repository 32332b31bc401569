"""REST serving: the real `mlflow models serve` (as `make serve` runs it) of the default end model, a tiny int8
MiniLM, over a temporary store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests
from conftest import champion_store

from models import TfidfClassifier, log_pyfunc_model
from prediction.serving import model_server

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(minilm_champion) -> str:
    """The base URL of a model server for the store's champion, stopped after the module."""
    with model_server(tracking_uri=minilm_champion.tracking_uri) as url:
        yield url


def invoke(url: str, payload) -> requests.Response:
    body = payload if isinstance(payload, str) else None
    return requests.post(f"{url}/invocations", json=None if body else payload, data=body, timeout=30,
                         headers={"Content-Type": "application/json"})


def test_good_and_title_only_requests_get_the_areas_the_classifier_predicts_in_process(server, minilm_champion):
    records = [
        {"title": "Graph neural networks for molecule property prediction",
         "abstract": "We propose a message passing network over molecular graphs."},
        {"title": "Reinforcement learning for robot control"},  # title only
        {"title": "", "abstract": "We study the sample complexity of offline reinforcement learning."},
    ]
    response = invoke(server, {"dataframe_records": records})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 3
    for prediction in predictions:
        probabilities = {key: value for key, value in prediction.items() if key.startswith("prob_")}
        assert len(probabilities) == 21 and abs(sum(probabilities.values()) - 1) < 1e-6
        assert prediction["confidence"] == pytest.approx(max(probabilities.values()))
        assert probabilities[f"prob_{prediction['area']}"] == pytest.approx(prediction["confidence"])
        assert prediction["area_name"]
    probabilities = minilm_champion.classifier.predict_proba(pd.DataFrame(records))
    assert [prediction["area"] for prediction in predictions] == [
        minilm_champion.slugs[best] for best in probabilities.argmax(axis=1)]
    assert [prediction["confidence"] for prediction in predictions] == pytest.approx(probabilities.max(axis=1),
                                                                                    abs=1e-5)


def test_no_records_get_no_predictions(server):
    response = invoke(server, {"dataframe_records": []})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": []}


@pytest.mark.parametrize("records, message", [
    ([{"foo": "bar"}], "bad input: input needs a 'title' or 'abstract' column; got columns ['foo']"),
    ([{"title": "Graph networks"}, {"title": None, "abstract": None}], "bad input: row 1: no title or abstract"),
    ([{"title": 3.5, "abstract": ["not", "text"]}], "bad input: row 0: 'title' must be a string or empty, got float"),
])
def test_records_without_text_get_a_400_naming_what_is_wrong(server, records, message):
    response = invoke(server, {"dataframe_records": records})
    assert response.status_code == 400, response.text
    assert response.json()["message"].splitlines()[-1] == f"Error: {message}"


@pytest.mark.parametrize("payload", [
    "{not json",
    {"records": [{"title": "wrong top-level key"}]},
])
def test_malformed_requests_get_a_4xx_with_a_message(server, payload):
    response = invoke(server, payload)
    assert 400 <= response.status_code < 500
    assert response.json()["message"]


@pytest.fixture(scope="module")
def taxonomy_server(tmp_path_factory) -> str:
    """The base URL of a model server for a champion TF-IDF model logged with its taxonomy, 'mine'."""
    papers = pd.DataFrame({"title": ["Sourdough starters", "Weeding robots"] * 4,
                           "abstract": ["gluten and oven spring", "pruning and watering plants"] * 4})
    classifier = TfidfClassifier(min_df=1).fit(papers, np.tile([[0.9, 0.1], [0.1, 0.9]], (4, 1)))
    uri = champion_store(tmp_path_factory.mktemp("taxonomy-store"), lambda: log_pyfunc_model(
        classifier, ["bread", "garden"], ["Bread baking", "Garden robots"], taxonomy="mine"))
    with model_server(tracking_uri=uri) as url:
        yield url


def test_a_rest_client_sees_the_models_taxonomy_in_every_prediction(taxonomy_server):
    records = [{"title": "A sourdough study", "abstract": "Gluten and oven spring."}, {"title": "Weeding robots"}]
    response = invoke(taxonomy_server, {"dataframe_records": records})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [(p["area"], p["taxonomy"]) for p in predictions] == [("bread", "mine"), ("garden", "mine")]
