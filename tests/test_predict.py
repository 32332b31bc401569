"""predict.py and the local prediction engine: formats, order and ids, atomic output, bad input, progress."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import champion_store, log_keyword_model

from models import TfidfClassifier, log_pyfunc_model
from paper_areas.dumps import read_dumps
from paper_areas.dumps.progress import InputProgress
from paper_areas.prediction import (
    ModelError,
    OutputError,
    PredictionWriter,
    load_model,
    predict_dumps,
    prediction_rows,
)

REPO = Path(__file__).resolve().parents[1]
TOP_COLUMNS = ["top1_area", "top1_prob", "top2_area", "top2_prob"]


def read_output(path: Path) -> pd.DataFrame:
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype={"id": str})
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
    return pd.read_parquet(path)


def write_jsonl(path: Path, records: list[dict | str]) -> Path:
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_predict(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "predict.py"), *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, timeout=180)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_every_output_format_has_one_row_a_paper_in_input_order(keyword_model, sample_dumps, tmp_path, suffix):
    output = tmp_path / "out" / f"predictions{suffix}"  # the folder is created
    summary = predict_dumps(sample_dumps, output, model_uri=str(keyword_model), top_k=2, batch_size=100,
                            stream=io.StringIO())
    rows = read_output(output)
    expected = [paper.id for paper in read_dumps(sample_dumps)]
    assert rows["id"].tolist() == expected
    assert list(rows.columns) == ["id", "title", "area", "area_name", "confidence", *TOP_COLUMNS]
    assert (rows["top1_area"] == rows["area"]).all()
    assert rows["top1_prob"].round(6).tolist() == rows["confidence"].round(6).tolist()
    assert (rows["top1_prob"] >= rows["top2_prob"]).all() and (rows["top1_area"] != rows["top2_area"]).all()
    assert summary.papers == len(expected) and sum(summary.areas.values()) == len(rows)
    assert summary.areas == rows["area_name"].value_counts().to_dict()
    assert [path.name for path in output.parent.iterdir()] == [output.name]  # no temporary file left


def test_ids_order_duplicates_and_malformed_entries(keyword_model, tmp_path):
    source = write_jsonl(tmp_path / "dump.jsonl", [
        {"id": "z-9", "title": "Graph neural networks for molecules", "abstract": "Node features."},
        "{not json",
        {"id": 17, "title": "Image segmentation with vision transformers", "abstract": ""},
        {"id": "z-9", "title": "Graph neural networks for molecules!", "abstract": "A repeated id."},
        {"title": "", "abstract": "A language model for text generation."},
        {"title": 42, "abstract": "title is not a string"},
    ])
    output = tmp_path / "predictions.jsonl"
    summary = predict_dumps([source], output, model_uri=str(keyword_model), top_k=3, batch_size=2,
                            stream=io.StringIO())
    rows = read_output(output)
    assert rows["id"].tolist()[:2] == ["z-9", "17"] and len(rows) == 3
    assert rows["area"].tolist() == ["graphs", "vision", "language"]
    assert rows["title"].tolist()[2] == ""  # an abstract-only paper keeps an empty title
    assert rows.filter(like="_area").shape[1] == 3
    report = summary.reading.files[0]
    assert sum(report.skipped.values()) == 2 and summary.reading.duplicates == 1
    assert "2 duplicates" not in summary.report() and "1 duplicates dropped" in summary.report()


def test_distinct_ids_sharing_a_title_each_get_a_row_and_only_repeats_are_dropped(keyword_model, tmp_path):
    source = write_jsonl(tmp_path / "dump.jsonl", [
        {"id": "A1", "title": "Attention", "abstract": "Attention over graph nodes."},
        {"id": "B2", "title": "Attention", "abstract": "Attention for image recognition."},
        {"id": "C3", "title": "Text generation", "abstract": "A language model."},
        {"id": "A1", "title": "Attention", "abstract": "Attention over graph nodes, again."},  # a repeated id
        {"title": "No id", "abstract": "A graph paper."},
        {"title": "No  id!", "abstract": "a graph paper"},  # the same text but for case, punctuation, spaces
        {"title": "No id", "abstract": "Another graph paper."},
    ])
    output = tmp_path / "predictions.csv"
    summary = predict_dumps([source], output, model_uri=str(keyword_model), stream=io.StringIO())
    rows = read_output(output)
    assert rows["id"].tolist()[:3] == ["A1", "B2", "C3"] and len(rows) == 5
    assert rows["area"].tolist() == ["graphs", "vision", "language", "graphs", "graphs"]
    assert summary.reading.duplicates == 2 and "5 distinct papers, 2 duplicates dropped" in summary.report()


@pytest.mark.parametrize("stdin_name", ["-", "/dev/stdin"])
def test_papers_piped_in_are_read_whole(keyword_model, tmp_path, stdin_name):
    # Issue 26: an input that can be read once (a pipe) lost its first 64 KiB to format detection and line counting.
    records = [{"id": f"p{i}", "title": f"Graph paper {i}", "abstract": "Node features. " * 20} for i in range(800)]
    body = "".join(json.dumps(record) + "\n" for record in records)
    assert len(body) > 3 * 64 * 1024
    output = tmp_path / "predictions.jsonl"
    done = subprocess.run([sys.executable, str(REPO / "predict.py"), "--model", str(keyword_model), "--input",
                           stdin_name, "--output", str(output)], input=body, capture_output=True, text=True,
                          cwd=REPO, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_output(output)["id"].tolist() == [record["id"] for record in records]


def test_csv_output_quotes_cells_a_spreadsheet_would_run_as_formulas(keyword_model, tmp_path):
    titles = ["=HYPERLINK(\"http://evil.example\",\"graph\")", "+graph", "-graph", "@SUM(A1)", "Graph = nodes"]
    source = write_jsonl(tmp_path / "dump.jsonl", [
        {"id": "=1+1" if number == 0 else str(number), "title": title, "abstract": "Graph nodes."}
        for number, title in enumerate(titles)])
    for suffix in (".csv", ".jsonl"):
        predict_dumps([source], tmp_path / f"predictions{suffix}", model_uri=str(keyword_model), stream=io.StringIO())
    csv_rows, json_rows = read_output(tmp_path / "predictions.csv"), read_output(tmp_path / "predictions.jsonl")
    assert csv_rows["title"].tolist() == ["'" + title for title in titles[:4]] + [titles[4]]
    assert csv_rows["id"].tolist() == ["'=1+1", "1", "2", "3", "4"]
    assert json_rows["title"].tolist() == titles and json_rows["id"].tolist()[0] == "=1+1"  # other formats verbatim
    assert csv_rows["confidence"].tolist() == pytest.approx(json_rows["confidence"].tolist())


def test_prediction_rows_rank_the_areas_and_clip_k_to_the_number_of_areas():
    papers = pd.DataFrame({"id": ["a", "b"], "title": ["A", "B"]})
    predicted = pd.DataFrame({"area": ["y", "x"], "area_name": ["Y", "X"], "confidence": [0.6, 0.5],
                              "prob_x": [0.1, 0.5], "prob_y": [0.6, 0.2], "prob_z": [0.3, 0.3]})
    rows = prediction_rows(papers, predicted, top_k=5)
    assert rows[["top1_area", "top2_area", "top3_area"]].values.tolist() == [["y", "z", "x"], ["x", "z", "y"]]
    assert rows["top2_prob"].tolist() == [0.3, 0.3] and "top4_area" not in rows


def test_writer_discards_its_temporary_file_on_error_and_keeps_the_old_output(tmp_path):
    output = tmp_path / "predictions.csv"
    output.write_text("old\n")
    with pytest.raises(RuntimeError), PredictionWriter(output) as writer:
        writer.write(pd.DataFrame({"id": ["a"]}))
        raise RuntimeError("boom")
    assert output.read_text() == "old\n" and list(tmp_path.iterdir()) == [output]
    with pytest.raises(OutputError, match="unknown output extension"):
        PredictionWriter(tmp_path / "predictions.xlsx")


def test_progress_log_lines_estimate_the_total_from_the_input_position(tmp_path):
    dump = tmp_path / "dump.jsonl"
    dump.write_text("{}\n" * 99)  # 100 lines with the last, empty one
    stream = io.StringIO()
    progress = InputProgress([dump], stream=stream, every=0)
    progress.update(25, f"{dump}:25")
    assert progress.fraction(f"{dump}:50") == 0.5 and progress.fraction("elsewhere:3") is None
    assert "25 papers" in stream.getvalue() and "25% of the input, ETA" in stream.getvalue()
    assert progress.bar is None  # not a terminal: no bar


def test_cli_writes_predictions_and_a_summary_of_area_counts(keyword_model, sample_dumps, tmp_path):
    output = tmp_path / "predictions.csv"
    result = run_predict("--input", *map(str, sample_dumps), "--output", str(output), "--model", str(keyword_model),
                         "--top-k", "1")
    assert result.returncode == 0, result.stderr
    rows = read_output(output)
    assert list(rows.columns[-2:]) == ["top1_area", "top1_prob"]
    for name, count in rows["area_name"].value_counts().items():
        assert f"{count:>8,}" in result.stderr and name in result.stderr
    assert f"{len(rows)} distinct papers" in result.stderr and f"{len(rows)} papers -> {output}" in result.stderr
    assert "\nareas (the model does not name its taxonomy):\n" in result.stderr and "taxonomy" not in rows


def test_a_model_logged_with_its_taxonomy_shows_it_in_the_summary_and_every_row(mlflow_store, tmp_path):
    import mlflow


    papers = pd.DataFrame({"title": ["Sourdough starters", "Weeding robots"] * 4,
                           "abstract": ["gluten and oven spring", "pruning and watering plants"] * 4})
    classifier = TfidfClassifier(min_df=1).fit(papers, np.tile([[0.9, 0.1], [0.1, 0.9]], (4, 1)), progress=False)
    experiment = mlflow.create_experiment("taxonomy", artifact_location=(mlflow_store / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        log_pyfunc_model(classifier, ["bread", "garden"], ["Bread baking", "Garden robots"],
                         registered_model_name="mine-classifier", taxonomy="mine")
    source = write_jsonl(tmp_path / "papers.jsonl", [
        {"id": "a", "title": "A sourdough study", "abstract": "Gluten networks and oven spring."},
        {"id": "b", "title": "Garden robots", "abstract": "A robot for weeding and watering plants."}])
    output = tmp_path / "tagged.jsonl"
    result = run_predict("--input", str(source), "--output", str(output), "--model", "models:/mine-classifier/1")
    assert result.returncode == 0, result.stderr
    assert "\nareas of taxonomy 'mine':\n" in result.stderr
    rows = read_output(output)
    assert rows["area"].tolist() == ["bread", "garden"] and rows["taxonomy"].tolist() == ["mine", "mine"]
    assert list(rows.columns[:6]) == ["id", "title", "area", "area_name", "confidence", "taxonomy"]


def test_default_model_is_the_registry_champion_not_the_latest_version(keyword_model, sample_dumps, tmp_path,
                                                                         monkeypatch):
    import mlflow

    store = tmp_path / "store"
    store.mkdir()
    uri = champion_store(store, lambda: mlflow.pyfunc.log_model(  # v1, the champion: the keyword model
        name="model", python_model=str(keyword_model.parent / "keyword_model.py"),
        signature=mlflow.models.Model.load(keyword_model).signature))
    papers = pd.DataFrame({"title": ["Sourdough starters", "Weeding robots"] * 4, "abstract": [""] * 8})
    later = TfidfClassifier(min_df=1).fit(papers, np.tile([[0.9, 0.1], [0.1, 0.9]], (4, 1)))
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run(experiment_id=mlflow.get_experiment_by_name("predict-tests").experiment_id):
            info = log_pyfunc_model(later, ["bread", "garden"], ["Bread baking", "Garden robots"], taxonomy="mine")
        assert mlflow.register_model(info.model_uri, "paper-area-classifier").version == 2  # the latest, no alias
    finally:
        mlflow.set_tracking_uri(previous)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    output = tmp_path / "predictions.parquet"
    summary = predict_dumps(sample_dumps[:1], output, stream=io.StringIO())
    rows = read_output(output)
    assert summary.papers == len(rows) == 10 and summary.taxonomy is None
    assert set(rows["area"]) <= {"graphs", "language", "vision"}  # the keyword model's areas, not v2's


@pytest.mark.parametrize("model, expected", [
    ("{tmp}/no-such-model", "not an MLflow model folder"),
    ("models:/paper-area-classifier@no-such-alias", "no-such-alias"),
    ("models:/no-such-model/1", "no-such-model"),
    ("http://127.0.0.1:9/model", "cannot load it (ValueError: "),
    ("s3://no-such-bucket/model", "s3://no-such-bucket/model: "),
    ("{tmp}/broken", "/broken/MLmodel:2: malformed MLmodel file (expected ',' or ']'"),
    ("{tmp}/listed", "/listed/MLmodel: malformed MLmodel file (not a mapping of fields)"),
])
def test_a_missing_model_is_one_clear_line(keyword_registry, sample_dumps, tmp_path, monkeypatch, model, expected):
    model = model.format(tmp=tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "MLmodel").write_text("flavors: [python_function\n")
    (tmp_path / "listed").mkdir()
    (tmp_path / "listed" / "MLmodel").write_text("- flavors\n")
    temporary = tmp_path / "tmp"  # where MLflow would download a remote model
    temporary.mkdir()
    output = tmp_path / "predictions.jsonl"
    result = run_predict("--input", str(sample_dumps[0]), "--output", str(output), "--model", model,
                         env={"MLFLOW_TRACKING_URI": keyword_registry, "TMPDIR": str(temporary)})
    assert result.returncode == 2
    assert result.stderr.startswith("error: model ") and expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not output.exists()
    assert list(temporary.iterdir()) == []
    monkeypatch.setenv("MLFLOW_TRACKING_URI", keyword_registry)
    with pytest.raises(ModelError):
        load_model(model)


def test_a_config_names_the_store_and_the_default_model(keyword_model, sample_dumps, tmp_path, monkeypatch, capsys):
    import predict
    from paper_areas.core import fail_cleanly

    store = champion_store(tmp_path, lambda: log_keyword_model(keyword_model), name="keywords", alias="best")
    config = tmp_path / "keywords.yaml"
    config.write_text(f"dumps: [{sample_dumps[0]}]\ntaxonomy: {REPO}/configs/taxonomies/iclr2025.yaml\n"
                      f"mlflow: {{tracking_uri: '{store}', registered_model: keywords, champion_alias: best}}\n")
    output = tmp_path / "predictions.jsonl"
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert predict.main(["--input", str(sample_dumps[0]), "--output", str(output), "--config", str(config)]) == 0
    assert set(read_output(output)["area"]) <= {"graphs", "language", "vision"}  # the keyword model's areas
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # the store, but the default config's model name
    assert fail_cleanly(lambda: predict.main(["--input", str(sample_dumps[0]), "--output", str(output)])) == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("error: model models:/paper-area-classifier@champion: ")


def test_no_store_is_a_clear_error_and_creates_no_database(tmp_path, monkeypatch):
    database = tmp_path / "absent.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{database}")
    with pytest.raises(ModelError, match="no MLflow store"):
        load_model()
    assert not database.exists()


def test_unreadable_or_missing_input_is_one_clear_line(keyword_model, sample_dumps, tmp_path):
    output = tmp_path / "predictions.jsonl"
    missing = tmp_path / "missing.jsonl"
    result = run_predict("--input", str(sample_dumps[0]), str(missing), "--output", str(output),
                         "--model", str(keyword_model))
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"error: {missing}:1: cannot read: No such file or directory"]
    assert not output.exists()


def test_a_killed_run_leaves_no_final_file_and_the_next_run_removes_its_temporary(keyword_model, tmp_path):
    source = write_jsonl(tmp_path / "dump.jsonl", [
        {"id": str(i), "title": f"Graph paper {i}", "abstract": "Nodes and edges."} for i in range(2000)])
    output = tmp_path / "predictions.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "predict.py"), "--input", str(source), "--output", str(output),
         "--model", str(keyword_model), "--batch-size", "10"],
        cwd=REPO, env={**os.environ, "KEYWORD_MODEL_DELAY": "0.05"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not any(part.stat().st_size for part in tmp_path.glob(".predictions.jsonl.*.part")):
            assert process.poll() is None and time.monotonic() < deadline, "the run ended before it was killed"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not output.exists() and len(list(tmp_path.glob(".predictions.jsonl.*.part"))) == 1
    result = run_predict("--input", str(source), "--output", str(output), "--model", str(keyword_model))
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dump.jsonl", "predictions.jsonl"]  # it cleaned up


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_input_whose_every_entry_is_skipped_is_one_line_and_writes_nothing(keyword_model, tmp_path, suffix):
    source = tmp_path / "g.jsonl"
    source.write_text("\n".join("{garbage" + str(number) for number in range(1000)) + "\n")
    output = tmp_path / f"g{suffix}"
    result = run_predict("--input", str(source), "--output", str(output), "--model", str(keyword_model))
    assert result.returncode == 2 and "Traceback" not in result.stderr  # the keyword stub's load warns first
    assert result.stderr.splitlines()[-1] == (
        f"error: no papers to predict ({source}: jsonl, 0 entries, 1000 skipped (1000 invalid JSON)); "
        f"{output} not written")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["g.jsonl"]


def test_a_writer_given_no_rows_commits_no_file(tmp_path):
    output = tmp_path / "predictions.parquet"
    with pytest.raises(ValueError, match="no rows were written"), PredictionWriter(output):
        pass
    assert list(tmp_path.iterdir()) == []
    with PredictionWriter(tmp_path / "predictions.csv") as writer:  # an empty first chunk still heads the file
        writer.write(pd.DataFrame({"id": [], "area": []}))
        writer.write(pd.DataFrame({"id": ["a"], "area": ["x"]}))
    assert (tmp_path / "predictions.csv").read_text() == "id,area\na,x\n"


def test_an_over_long_entry_is_skipped_and_counted_and_the_rest_predicted(keyword_model, tmp_path):
    source = write_jsonl(tmp_path / "dump.jsonl", [
        {"id": "big", "title": "Graph " * 400, "abstract": ""},
        {"id": "ok", "title": "Image segmentation", "abstract": "Vision."},
    ])
    output = tmp_path / "predictions.jsonl"
    result = run_predict("--input", str(source), "--output", str(output), "--model", str(keyword_model),
                         "--max-entry-bytes", "1000")
    assert result.returncode == 0, result.stderr
    assert f"\n{source}: jsonl, 1 entries, 1 skipped (1 entry over 1,000 bytes)\n" in result.stderr
    assert read_output(output)["id"].tolist() == ["ok"]


def test_a_paper_over_the_models_cap_is_one_line_naming_where(tfidf_registry, tmp_path, monkeypatch):
    from models.pyfunc import MAX_PAPER_CHARS
    from paper_areas.core import UserError

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tfidf_registry)
    source = write_jsonl(tmp_path / "dump.jsonl", [
        {"id": "ok", "title": "Graph networks", "abstract": "Nodes."},
        {"id": "long", "title": "Graph networks", "abstract": "nodes " * (MAX_PAPER_CHARS // 6 + 1)}])
    with pytest.raises(UserError) as raised:
        predict_dumps([source], tmp_path / "predictions.jsonl", max_entry_bytes=2 * MAX_PAPER_CHARS,
                      stream=io.StringIO())
    assert str(raised.value) == (f"the model refuses the papers from {source}:1 on: bad input: row 1: title and "
                                 f"abstract together over {MAX_PAPER_CHARS:,} characters (rows counted from there)")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dump.jsonl"]


def test_predict_py_with_the_int8_minilm_champion_matches_the_classifier_in_process(minilm_champion, sample_dumps,
                                                                                    tmp_path):
    from paper_areas.dumps import papers_frame

    output = tmp_path / "predictions.jsonl"
    result = run_predict("--input", *map(str, sample_dumps), "--output", str(output), "--top-k", "2",
                         env={"MLFLOW_TRACKING_URI": minilm_champion.tracking_uri})
    assert result.returncode == 0, result.stderr
    rows = read_output(output)
    papers = papers_frame(read_dumps(sample_dumps))
    probabilities = minilm_champion.classifier.predict_proba(papers)
    assert rows["id"].tolist() == papers["id"].tolist()
    assert rows["area"].tolist() == [minilm_champion.slugs[best] for best in probabilities.argmax(axis=1)]
    assert rows["confidence"].to_numpy() == pytest.approx(probabilities.max(axis=1), abs=1e-5)
    assert f"{len(papers)} papers -> {output}" in result.stderr


def test_explain_names_the_keyword_lfs_that_voted_for_each_paper(taught_registry, sample_dumps, tmp_path):
    from labeling import apply_lfs, keyword_lfs, load_taxonomy
    from paper_areas.dumps import papers_frame

    output = tmp_path / "explained.csv"
    result = run_predict("--input", *map(str, sample_dumps), "--output", str(output), "--explain",
                         env={"MLFLOW_TRACKING_URI": taught_registry})
    assert result.returncode == 0, result.stderr
    rows = read_output(output)
    assert rows.columns[-1] == "evidence"
    lfs = keyword_lfs(load_taxonomy(REPO / "configs" / "taxonomies" / "iclr2025.yaml"))
    votes = apply_lfs(lfs, papers_frame(read_dumps(sample_dumps)))
    voted = [{lfs[j].name for j in np.flatnonzero(row != -1)} for row in votes]
    named = [{f"{slug}:{group}" for part in evidence.split("; ") if part for slug, groups in [part.split(": ")]
              for group in groups.split(", ")} for evidence in rows["evidence"]]
    assert named == voted and sum(map(bool, named)) > len(named) / 2


@pytest.mark.parametrize("store", ["tfidf_registry", "keyword_registry"])  # no teacher; logged before `explain`
def test_explain_with_a_model_without_a_teacher_is_one_clear_line(store, sample_dumps, tmp_path, request):
    output = tmp_path / "explained.jsonl"
    result = run_predict("--input", str(sample_dumps[0]), "--output", str(output), "--explain",
                         env={"MLFLOW_TRACKING_URI": request.getfixturevalue(store)})
    assert result.returncode == 2 and "Traceback" not in result.stderr  # (the keyword pyfunc's load warns)
    assert result.stderr.strip().splitlines()[-1] == (
        "error: model models:/paper-area-classifier@champion: --explain: this model has no teacher to explain with "
        "(train it with end_model.teacher_weight above 0)")
    assert not output.exists()
