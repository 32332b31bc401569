"""The taxonomy workflow as a new user runs it: real `train.py` subprocesses on a tiny made-up taxonomy."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labeling import load_taxonomy
from labeling.scaffold import read_area_table, scaffold_taxonomy
from labeling.suggest import BASES
from paper_areas.pipeline import lf_commands

REPO = Path(__file__).resolve().parents[1]
AREA_TABLE = """name,description
Quantum widgets,"Widgets built from qubits: entanglement, superconducting circuits and decoherence."
Garden robots,"Robots that tend gardens: weeding, pruning and watering plants."
Bread baking,"Baking bread: sourdough starters, gluten networks and oven spring."
"""
ABSTRACTS = {
    "q": "Entanglement of superconducting qubits in widget {i}: decoherence times and circuit noise.",
    "g": "A weeding robot prunes tomato plants; watering schedule trial {i} with soil moisture sensors.",
    "b": "Sourdough starter fermentation {i}: gluten networks, hydration and oven spring of loaves.",
}
NAMES = {"q": "Quantum widgets", "g": "Garden robots", "b": "Bread baking"}


def run_train_py(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "train.py"), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def write_papers(path: Path, named_titles: bool) -> Path:
    """Eight papers an area (the first three titled with the area's name when `named_titles`) and six others."""
    papers = [{"id": f"{key}{i}", "title": f"{NAMES[key]} study {i}" if named_titles and i < 3 else f"Notes {key}{i}",
               "abstract": abstract.format(i=i)} for key, abstract in ABSTRACTS.items() for i in range(8)]
    papers += [{"id": f"o{i}", "title": f"A survey of databases, part {i}",
                "abstract": f"Indexes and query planning for relational tables, chapter {i}."} for i in range(6)]
    path.write_text("".join(json.dumps(paper) + "\n" for paper in papers))
    return path


def scaffold(folder: Path) -> str:
    """What `train.py init-taxonomy` writes for the folder's areas.csv."""
    return scaffold_taxonomy("mine", read_area_table(folder / "areas.csv"), "areas.csv")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "areas.csv").write_text(AREA_TABLE)
    write_papers(tmp_path / "papers.jsonl", named_titles=True)
    write_papers(tmp_path / "unnamed.jsonl", named_titles=False)
    return tmp_path


def test_help_lists_every_command(tmp_path: Path) -> None:
    done = run_train_py("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.findall(r"^    (\S+)", done.stdout, re.MULTILINE) == ["train", "init-taxonomy", "suggest", "lfs",
                                                                       "select", "label", "evaluate", "calibrate",
                                                                       "add-labels"]
    assert list(tmp_path.iterdir()) == []


def test_suggest_offers_the_bases_of_labeling_suggest() -> None:
    assert lf_commands.SUGGESTION_BASES == BASES


def test_init_taxonomy_writes_a_taxonomy_and_never_overwrites_one_without_force(workspace: Path) -> None:
    done = run_train_py("init-taxonomy", "--areas", "areas.csv", "--name", "mine", "--output", "mine.yaml",
                        cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "wrote mine.yaml: taxonomy 'mine', 3 areas (quantum-widgets, garden-robots, bread-baking), each with one "
        "keyword group: its name",
        "next: python train.py suggest --taxonomy mine.yaml --dumps DUMP... --area quantum-widgets"]
    taxonomy = load_taxonomy(workspace / "mine.yaml")
    assert taxonomy.name == "mine" and taxonomy.slugs == ["quantum-widgets", "garden-robots", "bread-baking"]

    (workspace / "mine.yaml").write_text("edited by hand\n")
    again = run_train_py("init-taxonomy", "--areas", "areas.csv", "--name", "mine", "--output", "mine.yaml",
                         cwd=workspace)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr == "error: mine.yaml: already exists (pass --force to overwrite it)\n"
    assert (workspace / "mine.yaml").read_text() == "edited by hand\n"
    forced = run_train_py("init-taxonomy", "--areas", "areas.csv", "--name", "mine", "--output", "mine.yaml",
                          "--force", cwd=workspace)
    assert forced.returncode == 0, forced.stderr
    assert load_taxonomy(workspace / "mine.yaml").slugs == taxonomy.slugs


def test_init_taxonomy_names_the_file_and_line_of_a_bad_area_and_writes_nothing(workspace: Path) -> None:
    (workspace / "areas.csv").write_text(AREA_TABLE + "Cheese,\n")
    done = run_train_py("init-taxonomy", "--areas", "areas.csv", "--name", "mine", "--output", "out/mine.yaml",
                        cwd=workspace)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: areas.csv:5: an area needs a name and a description\n"
    assert not (workspace / "out").exists()


def test_a_two_area_taxonomy_works_through_suggest_and_lfs(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    import train

    monkeypatch.chdir(workspace)
    (workspace / "areas.csv").write_text("\n".join(AREA_TABLE.splitlines()[:3]) + "\n")
    assert train.main(["init-taxonomy", "--areas", "areas.csv", "--name", "mine", "--output", "mine.yaml"]) == 0
    suggest = capsys.readouterr().out.splitlines()[-1].removeprefix("next: python train.py ").split()
    suggest[suggest.index("DUMP...")] = "papers.jsonl"
    assert train.main(suggest) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == ("candidate keywords for quantum-widgets (Quantum widgets) from the majority vote's papers of "
                          "the area (basis: votes); 30 papers, 24 without votes")
    assert "entanglement" in {line.split()[0] for line in printed[2:]}
    gold = workspace / "gold.jsonl"
    gold.write_text("".join(json.dumps({"title": f"{NAMES[key]} study {i}", "abstract": "x", "label": NAMES[key]})
                            + "\n" for key in "qg" for i in range(3)))
    assert train.main(["lfs", "--taxonomy", "mine.yaml", "--dumps", "papers.jsonl", "--gold", "gold.jsonl",
                       "--json", "lfs.json"]) == 0
    printed = capsys.readouterr().out
    assert "\n2 labelling functions: majority vote gives the labels (the label model needs at least 3)\n" in printed
    assert "\nmajority vote on the 6 gold papers (abstains count as wrong); selected: majority_vote\n" in printed
    report = json.loads((workspace / "lfs.json").read_text())
    assert report["label_model"] is None and report["majority_vote"]["accuracy"] == 1.0
    # Training too: majority vote gives the labels, and a model is registered.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workspace / 'store' / 'mlruns.db'}")
    (workspace / "train.yaml").write_text("dumps: [papers.jsonl]\ntaxonomy: mine.yaml\nend_model: {kind: tfidf}\n"
                                          "mlflow: {experiment: mine}\n")
    assert train.main(["--config", "train.yaml", "--no-gold"]) == 0
    printed = capsys.readouterr().err
    assert "majority vote over 2 LFs (the label model needs at least 3)" in printed
    assert "model version: paper-area-classifier v1 (promoted: no champion yet)" in printed


def test_a_single_area_is_refused_before_any_output_or_run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import train
    from paper_areas.core import UserError

    monkeypatch.chdir(workspace)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workspace / 'store' / 'mlruns.db'}")
    (workspace / "areas.csv").write_text("\n".join(AREA_TABLE.splitlines()[:2]) + "\n")
    with pytest.raises(UserError, match=r"^areas\.csv: a taxonomy needs at least 2 areas, the area table lists 1$"):
        train.main(["init-taxonomy", "--areas", "areas.csv", "--name", "mine", "--output", "mine.yaml"])
    (workspace / "one.yaml").write_text(json.dumps({"name": "one", "areas": [
        {"slug": "q", "name": NAMES["q"], "description": "d", "keywords": [{"group": "g", "terms": ["qubits"]}]}]}))
    (workspace / "train.yaml").write_text("dumps: [papers.jsonl]\ntaxonomy: one.yaml\nend_model: {kind: tfidf}\n")
    with pytest.raises(UserError, match=r"one\.yaml: areas: must list at least 2 areas to tell apart, not 1$"):
        train.main(["--config", "train.yaml"])
    assert not (workspace / "mine.yaml").exists() and not (workspace / "store").exists()


def test_suggest_from_the_description_before_any_keyword_matches_then_from_votes(workspace: Path) -> None:
    (workspace / "mine.yaml").write_text(scaffold(workspace))  # each area's only keyword is its name
    before = run_train_py("suggest", "--taxonomy", "mine.yaml", "--dumps", "unnamed.jsonl", "--area",
                          "garden-robots", "--top", "5", cwd=workspace)
    assert before.returncode == 0, before.stderr
    lines = before.stdout.splitlines()
    assert lines[0] == ("candidate keywords for garden-robots (Garden robots) from the papers nearest the area's "
                        "description (basis: description); 30 papers, 30 without votes")
    assert lines[1].split() == ["term", "in_area", "elsewhere", "precision", "uncovered_reach", "score"]
    assert len(lines) == 2 + 5 and {"moisture", "plants"} <= {line.split()[0] for line in lines[2:]}

    votes = run_train_py("suggest", "--taxonomy", "mine.yaml", "--dumps", "papers.jsonl", "--area", "bread-baking",
                         "--basis", "votes", "--top", "5", cwd=workspace)
    assert votes.returncode == 0, votes.stderr
    lines = votes.stdout.splitlines()
    assert lines[0] == ("candidate keywords for bread-baking (Bread baking) from the label model's papers of the "
                        "area (basis: votes); 30 papers, 21 without votes")
    assert "fermentation" in {line.split()[0] for line in lines[2:]}


def test_lfs_shows_coverage_and_votes_per_area_of_a_new_taxonomy(workspace: Path) -> None:
    (workspace / "mine.yaml").write_text(scaffold(workspace))
    done = run_train_py("lfs", "--taxonomy", "mine.yaml", "--dumps", "papers.jsonl", "--json", "lfs.json",
                        cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("3 labelling functions of taxonomy 'mine' (3 areas), on the 30 papers\n")
    assert "\n30 papers in the dumps: 9 with votes (30.0%), 21 without (dropped from training)\n" in done.stdout
    report = json.loads((workspace / "lfs.json").read_text())
    assert report["coverage"] == pytest.approx(0.3)
    assert [(row["area"], row["papers"]) for row in report["areas"]] == [
        ("quantum-widgets", 3), ("garden-robots", 3), ("bread-baking", 3), ("(no votes)", 21)]
    assert [row["conflicts"] for row in report["lfs"]] == [0, 0, 0]
    assert (workspace / "lfs.lf_table.csv").is_file()


@pytest.mark.parametrize("args", [["--epochs", "0"], ["train", "--epochs", "0"]])
def test_without_a_command_train_py_trains(tmp_path: Path, args: list[str]) -> None:
    done = run_train_py(*args, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: command line: end_model.epochs: must be at least 1, got 0\n"
    assert list(tmp_path.iterdir()) == []


def test_training_options_before_a_command_are_refused(tmp_path: Path) -> None:
    done = run_train_py("--epochs", "2", "lfs", "--dumps", "papers.jsonl", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.splitlines()[-1] == "train.py: error: unrecognized arguments: lfs"


def test_evaluate_shows_the_models_taxonomy_and_refuses_another(workspace: Path, mlflow_store: Path) -> None:
    import mlflow
    import numpy as np
    import pandas as pd

    from models import TfidfClassifier, log_pyfunc_model

    (workspace / "mine.yaml").write_text(scaffold(workspace))
    (workspace / "other.yaml").write_text(scaffold(workspace).replace("name: mine", "name: other"))
    taxonomy = load_taxonomy(workspace / "mine.yaml")
    papers = pd.read_json(workspace / "papers.jsonl", lines=True).iloc[:24]
    classifier = TfidfClassifier(min_df=1).fit(papers, np.repeat(np.eye(3) * 0.8 + 0.1 / 1.5, 8, axis=0))
    experiment = mlflow.create_experiment("mine", artifact_location=(mlflow_store / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        log_pyfunc_model(classifier, taxonomy.slugs, taxonomy.names, registered_model_name="mine-classifier",
                         taxonomy="mine")
    papers.assign(label=[name for name in taxonomy.names for _ in range(8)]).to_json(
        workspace / "gold.jsonl", orient="records", lines=True)

    done = run_train_py("evaluate", "--model", "models:/mine-classifier/1", "--gold", "gold.jsonl",
                        "--taxonomy", "mine.yaml", "--json", "scores.json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    figures = json.loads((workspace / "scores.json").read_text())
    assert done.stdout.splitlines()[-2:] == ["model models:/mine-classifier/1, taxonomy 'mine'",
                                             "24 gold papers: accuracy 1.0000, macro-F1 1.0000, expected "
                                             f"calibration error of confidence {figures['ece']:.4f}"]
    assert figures["taxonomy"] == "mine" and 0 < figures["ece"] < 1  # all right, confidence below 1
    other = run_train_py("evaluate", "--model", "models:/mine-classifier/1", "--gold", "gold.jsonl",
                         "--taxonomy", "other.yaml", cwd=workspace)
    assert other.returncode == 2 and other.stdout == ""
    assert other.stderr.splitlines()[-1] == ("error: model models:/mine-classifier/1 carries taxonomy 'mine', not "
                                             "'other' of other.yaml (pass the model's taxonomy with --taxonomy)")
    assert "Traceback" not in other.stderr
    # the gold's labels are not areas of the default taxonomy: the error names the model's taxonomy, not a label
    default = run_train_py("evaluate", "--model", "models:/mine-classifier/1", "--gold", "gold.jsonl", cwd=workspace)
    assert default.returncode == 2 and "Traceback" not in default.stderr
    assert default.stderr.splitlines()[-1].startswith("error: model models:/mine-classifier/1 carries taxonomy 'mine', "
                                                      "not 'iclr2025' of ")
    # A config's store and taxonomy, with MLFLOW_TRACKING_URI unset: evaluate looks the model up where training put it.
    (workspace / "train.yaml").write_text(f"dumps: [papers.jsonl]\ntaxonomy: mine.yaml\n"
                                          f"mlflow: {{tracking_uri: 'sqlite:///{mlflow_store}/mlruns.db'}}\n")
    configured = run_train_py("evaluate", "--model", "models:/mine-classifier/1", "--gold", "gold.jsonl", "--config",
                              "train.yaml", cwd=workspace, env={"MLFLOW_TRACKING_URI": ""})
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.splitlines()[-2] == "model models:/mine-classifier/1, taxonomy 'mine'"
