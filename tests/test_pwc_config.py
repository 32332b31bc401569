"""The second taxonomy's config (configs/pwc.yaml) trains end to end on a small slice of its data, with a tiny BERT:
its own experiment, registered model and taxonomy, all of it carried by the model it registers."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from labeling import load_taxonomy
from paper_areas.pipeline.config import REPO, load_config
from paper_areas.pipeline.training import train
from tests.conftest import SHARED_DATA


def head(name: str, lines: int, folder: Path) -> Path:
    """The first `lines` lines of a shared data file, copied into `folder`; skips when the file is absent."""
    source = SHARED_DATA / name
    if not source.exists():
        pytest.skip(f"{source} is absent")
    target = folder / name
    with source.open(encoding="utf-8") as lines_in:
        target.write_text("".join(islice(lines_in, lines)), encoding="utf-8")
    return target


def test_the_pwc_config_trains_on_a_slice_into_its_own_registered_model(mlflow_store, tiny_bert_dir):
    slices = mlflow_store / "data"
    slices.mkdir()
    config = load_config(REPO / "configs" / "pwc.yaml", {
        "dumps": [str(head("pwc-corpus.jsonl", 300, slices))],
        "gold": str(head("pwc-dev.jsonl", 150, slices)),
        "label_model": {"epochs": 20},
        "embeddings": {"model_path": str(tiny_bert_dir)},
        "end_model": {"model_path": str(tiny_bert_dir), "epochs": 1, "max_length": 64},
        "mlflow": {"tracking_uri": f"sqlite:///{mlflow_store}/mlruns.db",
                   "artifact_root": str(mlflow_store / "artifacts")},
    })
    result = train(config)

    client = MlflowClient()
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "minilm+tfidf+teacher-paperswithcode"
    assert client.get_experiment(result.experiment_id).name == "paper-areas-pwc"
    assert run.data.tags["taxonomy"] == "paperswithcode"
    assert result.registration.name == "paper-area-classifier-pwc" and result.registration.promoted
    version = client.get_model_version("paper-area-classifier-pwc", result.registration.version)
    assert version.tags["taxonomy"] == "paperswithcode"
    assert run.data.metrics["data.papers_read"] == 300
    # The keyword LFs carry the slice's model: twice as accurate as always answering the gold's most frequent area
    # (0.48 vs 0.18 when written).
    gold_areas = pd.read_json(config.gold, lines=True)["label"]
    baseline = gold_areas.value_counts(normalize=True).iloc[0]
    assert run.data.metrics["gold.end_model.accuracy"] > 2 * baseline, (run.data.metrics, baseline)
    slugs = load_taxonomy(REPO / "configs" / "taxonomies" / "paperswithcode.yaml").slugs
    assert len(slugs) == 16
    table = pd.read_csv(client.download_artifacts(result.run_id, "labeling/lf_table.csv", str(mlflow_store)))
    assert table["name"].tolist()[-16:] == [f"{slug}:centroid" for slug in slugs]

    model = mlflow.pyfunc.load_model("models:/paper-area-classifier-pwc@champion")
    predicted = model.predict(pd.DataFrame({"title": ["Speech recognition with transformers"], "abstract": [""]}))
    assert predicted["taxonomy"].tolist() == ["paperswithcode"] and predicted["area"][0] in slugs
