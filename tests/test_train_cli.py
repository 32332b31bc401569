"""train.py on input it cannot train on: one line, exit status 2, and no store, run or file left behind."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.base import TrainingDataError
from models.soft_logistic import TfidfClassifier

REPO = Path(__file__).resolve().parents[1]


def run_train_py(*args: str, store: Path, cwd: Path) -> subprocess.CompletedProcess:
    """train.py in a subprocess with MLFLOW_TRACKING_URI at `store`/mlruns.db."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlruns.db"}
    return subprocess.run([sys.executable, str(REPO / "train.py"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def files_in(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def assert_refused(done: subprocess.CompletedProcess, message: str) -> None:
    """Exit status 2 and `message` as the last line of stderr, with no traceback."""
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1] == message
    assert "Traceback" not in done.stderr


def test_a_dump_without_a_single_paper_is_one_line_and_starts_no_run(tmp_path):
    dump = tmp_path / "garbage.jsonl"
    dump.write_text("".join(f"{{garbage{i}\n" for i in range(1000)))
    done = run_train_py("--dumps", str(dump), store=tmp_path / "store", cwd=tmp_path)
    assert_refused(done, f"error: no papers in {dump}: jsonl, 0 entries, 1000 skipped (1000 invalid JSON); "
                         "0 distinct papers, 0 duplicates dropped")
    assert files_in(tmp_path) == ["garbage.jsonl"]  # no store, no run, no stray file


def test_papers_no_labelling_function_votes_on_are_one_line_and_start_no_run(tmp_path):
    rng = random.Random(0)  # words of letters no keyword is made of
    lines = [" ".join("".join(rng.choice("qxzjvkw") for _ in range(rng.randint(4, 8))) for _ in range(20))
             for _ in range(1000)]
    dump = tmp_path / "letters.txt"
    dump.write_text("".join(f"Abstract: {line}\n" for line in lines))
    done = run_train_py("--dumps", str(dump), "--end-model", "tfidf", store=tmp_path / "store", cwd=tmp_path)
    assert_refused(done, "error: no labelling function of taxonomy 'iclr2025' votes on any of the 1000 papers in "
                         f"{dump}: nothing to train on (see `train.py lfs`)")
    assert files_in(tmp_path) == ["letters.txt"]


def test_a_one_paper_dump_trains_the_tfidf_end_model(tmp_path):
    dump = tmp_path / "one.txt"
    dump.write_text((REPO / "samples" / "000_f34738d90972f23b.txt").read_text().splitlines()[0] + "\n")
    done = run_train_py("--dumps", str(dump), "--end-model", "tfidf", store=tmp_path / "store", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "papers:        1 read, 1 trained on" in done.stderr
    assert "model version: paper-area-classifier v1 (promoted: no champion yet)" in done.stderr
    assert (tmp_path / "store" / "mlruns.db").is_file() and (tmp_path / "store" / "mlartifacts").is_dir()


@pytest.mark.parametrize(("args", "config", "message"), [
    (["--seed", "-1"], "", "error: command line: end_model.seed: must be between 0 and 4294967295, got -1"),
    (["--epochs", "0"], "", "error: command line: end_model.epochs: must be at least 1, got 0"),
    (["--max-length", "100000"], "",
     "error: command line: end_model.max_length: must be between 1 and 512, got 100000"),
    ([], 'label_model: {learning_rate: "nan"}',
     "error: {config}: label_model.learning_rate: must be a finite number, got 'nan'"),
    ([], "label_model: {learning_rate: .nan}",
     "error: {config}: label_model.learning_rate: must be a finite number, got nan"),
    ([], "label_model: {l2: .inf}", "error: {config}: label_model.l2: must be a finite number, got inf"),
    ([], "label_model: {seed: 4294967296}",
     "error: {config}: label_model.seed: must be between 0 and 4294967295, got 4294967296"),
    ([], "end_model: {learning_rate: -0.1}",
     "error: {config}: end_model.learning_rate: must be greater than 0, got -0.1"),
    ([], "end_model: {model_path: nowhere}",
     "error: {config}: end_model.model_path: 'nowhere' is not a Hugging Face model folder (no config.json there)"),
])
def test_out_of_range_settings_are_refused_when_the_config_loads(tmp_path, args, config, message):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(f"dumps: [{REPO}/samples/000_f34738d90972f23b.txt]\n"
                           f"taxonomy: {REPO}/configs/taxonomies/iclr2025.yaml\n{config}\n")
    done = run_train_py("--config", str(config_path), *args, store=tmp_path / "store", cwd=tmp_path)
    assert_refused(done, message.format(config=config_path))
    assert files_in(tmp_path) == ["config.yaml"]


def test_tfidf_refuses_weak_labels_of_a_single_area():
    frame = pd.DataFrame({"title": ["Graph networks", "Graph kernels"], "abstract": ["Message passing.", "Walks."]})
    with pytest.raises(TrainingDataError) as info:
        TfidfClassifier().fit(frame, np.array([[1.0, 0.0], [1.0, 0.0]]), progress=False)
    assert str(info.value) == ("the weak labels of the 2 training papers name one area only: the tfidf end model "
                               "needs at least two")


def test_fine_tuning_prints_progress_lines_when_stderr_is_not_a_terminal(tmp_path, tiny_bert_dir):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(f"dumps: [{REPO}/samples/000_f34738d90972f23b.txt]\n"
                           f"taxonomy: {REPO}/configs/taxonomies/iclr2025.yaml\nlabel_model: {{epochs: 10}}\n"
                           f"end_model: {{model_path: {tiny_bert_dir}, epochs: 2, max_length: 32}}\n"
                           f"embeddings: {{model_path: {tiny_bert_dir}}}\n")
    done = run_train_py("--config", str(config_path), store=tmp_path / "store", cwd=tmp_path)  # stderr: a pipe
    assert done.returncode == 0, done.stderr[-2000:]
    epoch_lines = [line for line in done.stderr.splitlines() if line.startswith("fine-tuning: ")]
    pattern = (r"fine-tuning: (\d+) steps, [\d.,]+ steps/s, (\d+)% done, ETA \w+, \w+ elapsed, "
               r"epoch (\d)/2 done: train loss \d+\.\d{3}")
    matches = [re.fullmatch(pattern, line) for line in epoch_lines]
    assert all(matches), epoch_lines
    assert [(m.group(2), m.group(3)) for m in matches] == [("50", "1"), ("100", "2")]
    assert "\r" not in done.stderr  # no bar redrawn into the log
    # Third-party progress bars and INFO lines are silenced; the product's own lines stay.
    for noise in ("Loading weights", "Downloading artifacts", " INFO ", "pre-processing before quantization",
                  "Successfully registered", "Created version", "CloudPickle"):
        assert noise not in done.stderr, noise
