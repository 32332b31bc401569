"""The README's commands, in order, on a fresh copy of the repo: `make train`, the printed predict command, the
Python example, `make serve` with one request, `make ui`; then training and serving with a store outside the repo.
Nothing stray is left. And, fast: every link of the README and docs/ leads to a file, every config key is in
docs/configuration.md."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from bench.harness import free_port, server_process
from labeling import load_taxonomy
from paper_areas.pipeline.config import TrainConfig, add_flags

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")  # a Markdown link's target, without its #anchor
TRAIN_ARGS = 'ARGS=--end-model tfidf'  # the fast end model; everything else is the README's default job
REQUEST = {"dataframe_records": [{"title": "Diffusion models for molecules", "abstract": ""}]}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """The git-tracked files copied to a temporary folder, with this repo's .venv linked in (nothing reinstalled)."""
    copy = tmp_path_factory.mktemp("checkout") / "paper-areas"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    (copy / ".venv").symlink_to(REPO / ".venv")
    stamp = (REPO / ".venv" / ".installed-core").stat().st_mtime  # make must see the venv as up to date
    os.utime(copy / "pyproject.toml", (stamp - 60, stamp - 60))
    return copy


def environment(store: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_TRACKING_URI", "PORT"))}
    if store:
        env["MLFLOW_TRACKING_URI"] = store
    return env


def files(folder: Path) -> set[str]:
    """Every path under `folder` but the linked venv and Python caches."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*")
            if not path.relative_to(folder).parts[0] == ".venv" and "__pycache__" not in path.parts
            and ".pytest_cache" not in path.parts}


def make_train(checkout: Path, env: dict[str, str]) -> str:
    done = subprocess.run(["make", "train", TRAIN_ARGS], cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done.stderr


def next_commands(train_output: str) -> list[str]:
    """The commands after `next:` in the output of `make train`, without their comments."""
    lines = train_output.split("next:\n", 1)[1].splitlines()
    return [line.split("#")[0].strip() for line in lines if line.startswith("  ")]


def post(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["predictions"]


def readme_block(readme: str, after: str, language: str) -> str:
    """The fenced `language` code block that follows the text `after` in the README."""
    block = re.search(re.escape(after) + rf".*?```{language}\n(.*?)```", readme, re.S)
    assert block, f"no ```{language} block after {after!r} in the README"
    return block.group(1)


def serve(checkout: Path, env: dict[str, str]) -> None:
    """`make serve` answers one request with a champion's prediction."""
    port = free_port()
    with server_process(["make", "serve", f"PORT={port}"], f"http://127.0.0.1:{port}/ping", env, checkout, 240):
        (prediction,) = post(f"http://127.0.0.1:{port}/invocations", REQUEST)
        assert prediction["area"] in load_taxonomy(checkout / "configs/taxonomies/iclr2025.yaml").slugs
        assert 0 < prediction["confidence"] <= 1


def browse(checkout: Path, env: dict[str, str]) -> None:
    """`make ui` answers on its port."""
    port = free_port()
    with server_process(["make", "ui", f"PORT={port}"], f"http://127.0.0.1:{port}/health", env, checkout, 240):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200 and b"MLflow" in response.read()


@pytest.mark.slow
def test_readme_commands_work_in_order_on_a_fresh_copy(checkout):
    readme = (checkout / "README.md").read_text()
    block = readme_block(readme, "and the next commands, which work as printed:", "bash")
    readme_commands = [line.split("#")[0].strip() for line in block.splitlines()]
    before = files(checkout)
    env = environment(None)

    commands = next_commands(make_train(checkout, env))
    assert commands == readme_commands  # the README shows what `make train` prints
    assert (checkout / "mlruns.db").is_file() and (checkout / "mlartifacts").is_dir()

    predict = subprocess.run(commands[1], shell=True, cwd=checkout, env=env, capture_output=True, text=True,
                             timeout=600)
    assert predict.returncode == 0, predict.stderr[-3000:]
    assert len((checkout / "out" / "predictions.jsonl").read_text().splitlines()) > 0

    example = subprocess.run([".venv/bin/python", "-c", readme_block(readme, "## Use it from Python", "python")],
                             cwd=checkout, env=env, capture_output=True, text=True, timeout=600)
    assert example.returncode == 0, example.stderr[-3000:]
    slugs = load_taxonomy(checkout / "configs/taxonomies/iclr2025.yaml").slugs
    assert set(example.stdout.split()) & set(slugs), example.stdout  # the printed frame names the paper's area

    serve(checkout, env)
    browse(checkout, env)
    created = files(checkout) - before
    assert not (checkout / "mlflow.db").exists()
    assert {path.split("/")[0] for path in created} == {"mlruns.db", "mlartifacts", "out"}, sorted(created)


@pytest.mark.slow
def test_a_store_outside_the_repo_holds_runs_artifacts_and_serves(checkout, tmp_path):
    store = f"sqlite:///{tmp_path}/mlruns.db"
    env = environment(store)
    before = files(checkout)

    output = make_train(checkout, env)
    assert f"store:         {store}" in output
    assert next_commands(output)[0] == f"MLFLOW_TRACKING_URI={store} make ui"
    assert (tmp_path / "mlruns.db").is_file()
    assert list((tmp_path / "mlartifacts").glob("*/models/*/artifacts/MLmodel")) or \
        list((tmp_path / "mlartifacts").rglob("MLmodel")), "the model's artifacts are not beside the store"
    done = subprocess.run([".venv/bin/python", "-m", "paper_areas.tracking"], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == f"{store}\n"

    serve(checkout, env)  # the model's artifacts are found beside the outside store (the UI is the first test's)
    assert files(checkout) == before  # nothing written into the checkout


@pytest.mark.slow
def test_make_variables_are_values_never_shell_commands(checkout, tmp_path):
    injected = tmp_path / "injected"
    env = environment(f"sqlite:///{tmp_path}/mlruns.db")
    for target, variable in [("serve", f"MODEL=x;touch {injected};"), ("train", f"ARGS=--help ;touch {injected};")]:
        subprocess.run(["make", target, variable], cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
        assert not injected.exists(), f"make {target} {variable} ran the command"
    done = subprocess.run(["make", "train", "ARGS=--end-model tfidf --help"], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "--end-model" in done.stdout  # ARGS still splits into several flags


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_link_of_the_readme_and_docs_leads_to_a_file(page):
    """Links into the repo (bench results included) lead to a file; links out of it (../shared/data) are not
    checked: a fresh clone may not have them."""
    targets = [(page.parent / target).resolve() for target in LINK.findall(page.read_text()) if "://" not in target]
    assert targets, f"{page.name} links to nothing"
    missing = sorted({str(target.relative_to(REPO)) for target in targets
                      if target.is_relative_to(REPO) and not target.exists()})
    assert not missing, f"{page.name} links to files that do not exist: {missing}"


def documented_keys() -> dict[str, list[str]]:
    """The rows of docs/configuration.md's key tables: dotted key -> its cells after the key (default, what it does,
    flag when the table has that column)."""
    keys_part = (REPO / "docs" / "configuration.md").read_text().split("\n## Keys\n")[1].split("\n## ")[0]
    rows = {}
    for section in re.split(r"^### ", keys_part, flags=re.M)[1:]:
        heading, _, body = section.partition("\n")
        prefix = re.match(r"`(\w+)`", heading)
        for key, cells in re.findall(r"^\| `(\w+)` \|(.*)\|$", body, re.M):
            rows[f"{prefix.group(1)}.{key}" if prefix else key] = [cell.strip() for cell in cells.split("|")]
    return rows


def test_every_config_key_is_documented_with_its_default_and_flag():
    """Each key of the config schema has a row in docs/configuration.md giving the schema's default (the first
    `value` of the cell, as YAML) and the train.py flag that sets it, and no row names a key the schema lacks."""
    rows = documented_keys()
    defaults = TrainConfig(dumps=["any.jsonl"], taxonomy="any.yaml").flat()
    assert set(defaults) == set(rows), f"undocumented: {sorted(set(defaults) - set(rows))}, " \
                                       f"unknown: {sorted(set(rows) - set(defaults))}"
    parser = argparse.ArgumentParser()
    add_flags(parser)
    flags = {action.dest: action.option_strings[0] for action in parser._actions if action.dest in defaults}
    for key, (default, *_, flag_cell) in rows.items():
        assert (flags[key] in flag_cell) if key in flags else not flag_cell.startswith("`--"), (key, flag_cell)
        if key in ("dumps", "taxonomy", "embeddings.cache_dir"):  # required; from the environment
            continue
        documented = yaml.safe_load(re.match(r"`([^`]*)`", default).group(1))
        expected = defaults[key]
        assert (",".join(documented) if isinstance(documented, list) else documented) == expected, (key, default)
