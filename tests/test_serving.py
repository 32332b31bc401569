"""REST serving: the real `mlflow models serve` (as `make serve` runs it) over a temporary store."""

from __future__ import annotations

import pytest
import requests

from prediction.serving import model_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

@pytest.fixture(scope="module")
def server(tfidf_registry) -> str:
    """The base URL of a model server for the store's champion, stopped after the module."""
    with model_server(tracking_uri=tfidf_registry) as url:
        yield url


def invoke(url: str, payload) -> requests.Response:
    body = payload if isinstance(payload, str) else None
    return requests.post(f"{url}/invocations", json=None if body else payload, data=body, timeout=30,
                         headers={"Content-Type": "application/json"})


def test_good_and_title_only_requests_get_areas_and_probabilities(server):
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


@pytest.mark.parametrize("payload", [
    "{not json",
    {"records": [{"title": "wrong top-level key"}]},
    {"dataframe_records": [{"title": 3.5, "abstract": ["not", "text"]}]},
])
def test_malformed_requests_get_a_4xx_with_a_message(server, payload):
    response = invoke(server, payload)
    assert 400 <= response.status_code < 500
    assert response.json()["message"]
