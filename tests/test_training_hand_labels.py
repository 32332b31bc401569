"""Issue 28: `train.py --hand-labels`: the end model is fine-tuned on the hand labels after the weak labels, every
figure on them is out of fold, they are a dataset input of the run, the version carries their count, and without
gold they calibrate the model and are what the run is scored on."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from test_training import MODEL, make_config

from labeling import apply_lfs, keyword_lfs, load_taxonomy
from models import FineTuning, TfidfClassifier, uncalibrated
from models.evaluation import split_by_id
from paper_areas.dumps import papers_frame, read_dumps
from paper_areas.hand_labels import HandLabels, Row, Sheet
from paper_areas.pipeline import stages
from paper_areas.pipeline.config import DEFAULT_TAXONOMY
from paper_areas.pipeline.data import DataError
from paper_areas.pipeline.training import HAND_LABELS, train
from paper_areas.pipeline.versions import add_hand_labels

pytestmark = pytest.mark.slow
TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)
SURPRISE = TAXONOMY.index("datasets and benchmarks")


@pytest.fixture(scope="module")
def hand_sheet(tmp_path_factory, sample_dumps):
    """60 sample papers with keyword votes, labelled as their votes say, except the first 12 (papers of other
    areas), labelled "datasets and benchmarks": (the sheet, the papers, their area indices)."""
    frame = papers_frame(read_dumps(sample_dumps))
    votes = apply_lfs(keyword_lfs(TAXONOMY), frame)
    counts = np.stack([(votes == area).sum(axis=1) for area in range(len(TAXONOMY.areas))], axis=1)
    voted = np.flatnonzero((counts.max(axis=1) > 0) & (counts.argmax(axis=1) != SURPRISE))[::5][:60]
    areas = counts[voted].argmax(axis=1)
    areas[:12] = SURPRISE
    papers = frame.iloc[voted].reset_index(drop=True)
    path = tmp_path_factory.mktemp("hand") / "labelled.csv"
    Sheet(path, [Row(i + 2, paper.id, paper.title, paper.abstract, chosen_by="random" if i % 3 else "uncertain",
                     label=TAXONOMY.names[area])
                 for i, (paper, area) in enumerate(zip(papers.itertuples(), areas, strict=True))]).write()
    return path, papers, areas


def test_the_end_model_learns_the_hand_labels_and_reports_them_out_of_fold(mlflow_store, hand_sheet):
    path, papers, areas = hand_sheet
    config = make_config(mlflow_store, kind="tfidf", average_with=[], teacher_weight=0.0)
    config.hand_labels.sheets = [str(path)]
    trained = train(config)
    assert trained.measured_on == HAND_LABELS  # no gold: the hand labels score the run
    assert list(trained.scores) == ["end_model", "weak_labels_only"]
    run = MlflowClient().get_run(trained.run_id)
    metrics = run.data.metrics
    assert metrics["hand_labels.count"] == 60 and metrics["hand_labels.random.count"] == 40
    served = mlflow.pyfunc.load_model(f"runs:/{trained.run_id}/model").unwrap_python_model().classifier
    in_sample = (uncalibrated(served).predict(papers) == areas).mean()
    out_of_fold = metrics["hand_labels.out_of_fold.accuracy"]
    assert in_sample > out_of_fold, "the figures on the hand labels are out of fold, not in-sample"
    surprising = uncalibrated(served).predict(papers.iloc[:12])
    assert (surprising == SURPRISE).mean() >= 0.9, "a labelled paper's area follows its label"
    assert metrics["hand_labels.weak_labels_only.accuracy"] < 0.85  # the weak model misses the 12 surprises
    inputs = {(dataset.dataset.name, dataset.tags[0].value) for dataset in run.inputs.dataset_inputs}
    assert ("hand_labels", "training") in inputs
    assert run.data.params["data.hand_labels.papers"] == "60"
    version = MlflowClient().get_model_version(MODEL, trained.registration.version)
    assert version.tags["hand_labels"] == "60"
    assert run.data.tags["calibration"].endswith("fitted on the hand labels (out of fold)")
    assert "hand_labels.end_model.ece" in metrics and "hand_labels.end_model.accuracy" in metrics


def test_a_sheet_without_a_label_is_refused_before_the_run(mlflow_store, tmp_path):
    empty = tmp_path / "round1.csv"
    Sheet(empty, [Row(2, "p1", "A title", "An abstract.")]).write()
    config = make_config(mlflow_store, kind="tfidf", average_with=[])
    config.hand_labels.sheets = [str(empty)]
    with pytest.raises(DataError, match=f"no labelled paper in {empty}"):
        train(config)
    assert not MlflowClient().search_runs(["0", *[e.experiment_id for e in MlflowClient().search_experiments()]])


def test_add_labels_fine_tunes_a_registered_model_into_a_new_version_without_the_weak_label_training(
        mlflow_store, hand_sheet):
    path, papers, areas = hand_sheet
    config = make_config(mlflow_store, kind="tfidf", average_with=[], teacher_weight=0.0)
    trained = train(config)
    before = uncalibrated(mlflow.pyfunc.load_model(f"models:/{MODEL}/1").unwrap_python_model().classifier)
    assert (before.predict(papers.iloc[:12]) == SURPRISE).mean() < 0.5
    config.hand_labels.sheets = [str(path)]
    added = add_hand_labels(f"models:/{MODEL}/1", config)
    assert added.registration.version == "2" and added.measured_on == HAND_LABELS
    version = MlflowClient().get_model_version(MODEL, "2")
    assert version.tags["hand_labels"] == "60" and version.tags["hand_labels_added_to"] == "1"
    assert version.tags["end_model"] == "tfidf"
    run = MlflowClient().get_run(version.run_id)
    assert run.info.experiment_id == trained.experiment_id and run.info.run_name == "hand-labels-iclr2025"
    assert run.data.metrics["hand_labels.count"] == 60
    assert added.scores["weak_labels_only"].accuracy == run.data.metrics["hand_labels.weak_labels_only.accuracy"]
    tuned = uncalibrated(mlflow.pyfunc.load_model(f"models:/{MODEL}/2").unwrap_python_model().classifier)
    assert (tuned.predict(papers.iloc[:12]) == SURPRISE).mean() >= 0.9
    # A second round on top: the count adds up.
    assert add_hand_labels(f"models:/{MODEL}/2", config).registration.version == "3"
    assert MlflowClient().get_model_version(MODEL, "3").tags["hand_labels"] == "120"


def test_hand_labels_all_from_one_half_of_gold_are_still_cross_fitted_on_two_folds(hand_sheet):
    """A bench reveals papers of one dev half: gold's split would put them all in one fold (nothing out of fold)."""
    _, papers, areas = hand_sheet
    ids = [f"paper-{i}" for i in range(400)]
    one_half = [paper_id for paper_id in ids if split_by_id([paper_id])[0]][: len(papers)]
    hand = HandLabels(papers.assign(id=one_half, chosen_by=""), areas)
    model = TfidfClassifier(min_df=1).fit(papers, np.eye(len(TAXONOMY.areas))[areas] * 0.5 + 0.5 / 21,
                                          progress=False)
    tuned = stages.fine_tune_on_hand_labels(model, hand, len(TAXONOMY.areas), FineTuning())
    assert 0 < tuned.labels.halves().sum() < len(areas)
    assert stages.can_calibrate_on(tuned.labels, len(TAXONOMY.areas)) or len(set(areas)) < 11
    assert not np.allclose(tuned.out_of_fold, tuned.before), "each fold was scored by a copy fine-tuned on the other"
