"""REST serving: the real server `make serve` runs (MLflow's scoring app behind prediction.serving's limits) of the
default end model, a tiny int8 MiniLM, over a temporary store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import requests
from conftest import champion_store

from bench.harness import model_server
from labeling import MajorityVoteLabeler, apply_lfs, keyword_lfs, load_taxonomy
from models import TaughtClassifier, TfidfClassifier, log_pyfunc_model
from models.pyfunc import MAX_PAPER_CHARS
from paper_areas.prediction.serving import MAX_REQUEST_BYTES

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(minilm_champion) -> str:
    """The base URL of a model server for the store's champion, stopped after the module."""
    with model_server(tracking_uri=minilm_champion.tracking_uri) as url:
        yield url


def invoke(url: str, payload, content_type: str = "application/json") -> requests.Response:
    """POST `payload` (JSON-encoded unless it is already a body: text, bytes or an iterable of chunks)."""
    body = None if isinstance(payload, dict) else payload
    return requests.post(f"{url}/invocations", json=None if body else payload, data=body, timeout=60,
                         headers={"Content-Type": content_type})


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


MINE = """
name: mine
areas:
  - {slug: bread, name: Bread baking, description: baking, keywords: [{group: dough, terms: [sourdough, gluten]}]}
  - {slug: garden, name: Garden robots, description: gardens, keywords: [{group: plants, terms: [weeding, plants]}]}
"""
EXPLAINED = [{"title": "A sourdough study", "abstract": "Gluten and oven spring."}, {"title": "Weeding robots"},
             {"title": "Nothing here"}]


@pytest.fixture(scope="module")
def taxonomy_server_store(tmp_path_factory) -> str:
    """The tracking URI of a store whose champion is a TF-IDF model logged with its taxonomy, 'mine', and served
    with its teacher (majority vote over the taxonomy's keyword LFs)."""
    folder = tmp_path_factory.mktemp("taxonomy-store")
    (folder / "mine.yaml").write_text(MINE)
    taxonomy = load_taxonomy(folder / "mine.yaml")
    papers = pd.DataFrame({"title": ["Sourdough starters", "Weeding robots"] * 4,
                           "abstract": ["gluten and oven spring", "pruning and watering plants"] * 4})
    classifier = TfidfClassifier(min_df=1).fit(papers, np.tile([[0.9, 0.1], [0.1, 0.9]], (4, 1)))
    labeler = MajorityVoteLabeler(2).fit(apply_lfs(keyword_lfs(taxonomy), papers))
    taught = TaughtClassifier(classifier, taxonomy, labeler, n_votes=2)
    return champion_store(folder, lambda: log_pyfunc_model(taught, taxonomy.slugs, taxonomy.names, taxonomy="mine"))


@pytest.fixture(scope="module")
def taxonomy_server(taxonomy_server_store) -> str:
    """The base URL of make serve's server for that store's champion."""
    with model_server(tracking_uri=taxonomy_server_store) as url:
        yield url


def test_mlflow_models_serve_serves_the_registered_model_from_its_artifacts(taxonomy_server_store):
    # MLflow's own command (what a user without this project's Makefile runs): the same predictions, the pyfunc's own
    # checks (a paper over its cap is a 400), without make serve's request cap.
    with model_server(tracking_uri=taxonomy_server_store, mlflow_cli=True) as url:
        response = invoke(url, {"dataframe_records": [{"title": "Weeding robots"}]})
        assert response.status_code == 200, response.text
        assert response.json()["predictions"][0]["area"] == "garden"
        response = invoke(url, {"dataframe_records": [{"title": "x", "abstract": "y" * (MAX_PAPER_CHARS + 1)}]})
        assert response.status_code == 400, response.text[:500]
        response = invoke(url, {"dataframe_records": EXPLAINED, "params": {"explain": True}})
        assert response.status_code == 200, response.text
        assert [p["evidence"] for p in response.json()["predictions"]] == ["bread: dough", "garden: plants", ""]


def test_a_rest_client_sees_the_models_taxonomy_in_every_prediction(taxonomy_server):
    records = [{"title": "A sourdough study", "abstract": "Gluten and oven spring."}, {"title": "Weeding robots"}]
    response = invoke(taxonomy_server, {"dataframe_records": records})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [(p["area"], p["taxonomy"]) for p in predictions] == [("bread", "mine"), ("garden", "mine")]
    assert "evidence" not in predictions[0]  # only on request


def test_a_rest_client_asking_to_explain_gets_the_keyword_lfs_that_voted(taxonomy_server):
    response = invoke(taxonomy_server, {"dataframe_records": EXPLAINED, "params": {"explain": True}})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [(p["area"], p["evidence"]) for p in predictions][:2] == [("bread", "bread: dough"),
                                                                     ("garden", "garden: plants")]
    assert predictions[2]["evidence"] == ""


@pytest.mark.parametrize("body", ["[" * 10_000 + "]" * 10_000,  # nested too deeply, an integer of 5,000 digits
                                  '{"dataframe_records": [{"title": ' + "9" * 5_000 + "}]}"])
def test_a_body_mlflow_cannot_parse_gets_a_400_not_a_500(taxonomy_server, body):
    response = invoke(taxonomy_server, body)
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("cannot parse the request: ")


def test_a_csv_body_without_title_or_abstract_gets_a_400_naming_the_columns(taxonomy_server):
    response = invoke(taxonomy_server, "junk, more junk\n", content_type="text/csv")
    assert response.status_code == 400, response.text
    assert response.json()["message"].endswith("input needs a 'title' or 'abstract' column; got columns "
                                               "['junk', ' more junk']")
    response = invoke(taxonomy_server, "title,abstract\nWeeding robots,\n", content_type="text/csv")
    assert response.status_code == 200 and response.json()["predictions"][0]["area"] == "garden"


def test_a_body_over_the_cap_gets_a_413_and_a_paper_over_its_cap_a_400(taxonomy_server):
    chunk, chunks = b" " * (1 << 20), MAX_REQUEST_BYTES // (1 << 20) + 1
    for body in (chunk * chunks, (chunk for _ in range(chunks))):  # with a Content-Length, then chunked
        response = invoke(taxonomy_server, body)
        assert response.status_code == 413, response.text[:500]
        assert response.json()["message"] == (f"request body over {MAX_REQUEST_BYTES:,} bytes: send fewer papers "
                                               "a request")
    response = invoke(taxonomy_server, {"dataframe_records": [
        {"title": "Weeding robots"}, {"title": "Sourdough", "abstract": "gluten " * (MAX_PAPER_CHARS // 7)}]})
    assert response.status_code == 400, response.text
    assert response.json()["message"].endswith(f"row 1: title and abstract together over {MAX_PAPER_CHARS:,} "
                                               "characters")
    response = invoke(taxonomy_server, {"dataframe_records": [{"title": "Sourdough", "abstract": "gluten " * 1000}]})
    assert response.status_code == 200 and response.json()["predictions"][0]["area"] == "bread"
