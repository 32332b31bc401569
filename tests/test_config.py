"""The training config: defaults, overrides, and validation errors that name the key."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from models.registry import END_MODELS
from paper_areas.pipeline.config import DEFAULT_CONFIG, ConfigError, TrainConfig, flag_overrides, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_default_config_trains_on_the_bundled_samples():
    config = load_config()
    assert [Path(p).name for p in config.dumps] == [
        "000_f34738d90972f23b.txt", "001_48743c56da8dbc52.txt", "002_3af944e5bf3deb71.txt",
        "003_399c9b84d8821e2e.txt", "004_e26a98970d65545d.txt",
    ]
    assert all(Path(p).exists() for p in config.dumps)
    assert Path(config.taxonomy) == DEFAULT_CONFIG.parent / "taxonomies" / "iclr2025.yaml"
    assert config.gold is None
    assert config.end_model.kind == "minilm" and config.end_model.kinds == ["minilm", "tfidf"]
    assert config.mlflow.registered_model == "paper-area-classifier"


def test_iclr_config_points_at_the_shared_data():
    config = load_config(DEFAULT_CONFIG.parent / "iclr.yaml")
    assert config.gold.endswith("shared/data/iclr2025-dev.jsonl")
    assert config.dumps[0].endswith("shared/data/iclr2024-corpus.jsonl")
    assert len(config.dumps) == 6


def test_command_line_overrides_win(tmp_path, sample_dumps):
    config = load_config(None, {"end_model": {"kind": "tfidf", "epochs": 7, "seed": None},
                                "dumps": [str(sample_dumps[1])], "gold": None})
    assert config.end_model.kind == "tfidf" and config.end_model.kinds == ["tfidf"]  # averaged with itself: alone
    assert config.end_model.epochs == 7
    assert config.end_model.seed == 0
    assert config.dumps == [str(sample_dumps[1])]


def test_flat_params_use_dotted_keys():
    flat = load_config().flat()
    assert flat["end_model.kind"] == "minilm"
    assert flat["mlflow.experiment"] == "paper-areas"
    assert "," in flat["dumps"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dumps: [x]\ntaxonomy: t.yaml\nend_modle: {}\n", "end_modle: unknown key"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {epochs: three}\n", "end_model.epochs: must be int"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {kind: bert}\n", "end_model.kind: must be one of minilm, tfidf"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {batch_size: 0}\n", "end_model.batch_size: must be at least 1"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {average_with: [tfidf, svm]}\n",
         "end_model.average_with[1]: must be one of minilm, tfidf, embedding, got 'svm'"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {calibration: platt}\n",
         "end_model.calibration: must be one of isotonic, temperature, logistic, none, got 'platt'"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {class_offsets: yes please}\n",
         "end_model.class_offsets: must be bool"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {calibration_without_gold: isotonic}\n",
         "end_model.calibration_without_gold: must be one of shipped, none, got 'isotonic'"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {frozen_layers: 7}\n",
         "end_model.frozen_layers: must be between 0 and 6, got 7"),  # all-MiniLM-L6-v2 has 6 layers
        ("dumps: [x]\ntaxonomy: t.yaml\nlabel_model: {seed: true}\n", "label_model.seed: must be int"),
        ("dumps: [x]\ntaxonomy: t.yaml\nlabel_model: {learning_rate: .nan}\n",
         "label_model.learning_rate: must be a finite number, got nan"),
        ("dumps: [x]\ntaxonomy: t.yaml\nlabel_model: {epochs: 0}\n", "label_model.epochs: must be at least 1, got 0"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {seed: -1}\n",
         "end_model.seed: must be between 0 and 4294967295, got -1"),
        ("dumps: [x]\ntaxonomy: t.yaml\nend_model: {learning_rate: 0}\n",
         "end_model.learning_rate: must be greater than 0, got 0"),  # as written
        ("dumps: [x]\ntaxonomy: t.yaml\nmlflow: {registry: x}\n", "mlflow.registry: unknown key"),
        ("dumps: [x]\ntaxonomy: t.yaml\nengine: gpu\n", "engine: must be one of local, spark"),
        ("dumps: [x]\n", "taxonomy: required key is missing"),
        ("dumps: ['nothing-*.txt']\ntaxonomy: t.yaml\n", "dumps[0]: 'nothing-*.txt' matches no file"),
        ("dumps: []\ntaxonomy: t.yaml\n", "dumps: at least one dump is needed"),
        ("- just\n- a list\n", "must be a mapping"),
        ("dumps: [x\n", "not valid YAML"),
    ],
)
def test_invalid_configs_name_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_an_override_out_of_range_names_the_command_line(tmp_path, sample_dumps):
    with pytest.raises(ConfigError) as info:
        load_config(None, {"end_model": {"seed": -1}, "dumps": [str(sample_dumps[0])]})
    assert str(info.value) == "command line: end_model.seed: must be between 0 and 4294967295, got -1"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_command_line_dumps_replace_a_configs_missing_dumps(tmp_path, sample_dumps):
    path = write(tmp_path, "dumps: [elsewhere/*.jsonl]\ntaxonomy: t.yaml\n")
    with pytest.raises(ConfigError, match=r"dumps\[0\]: 'elsewhere/\*\.jsonl' matches no file"):
        load_config(path)
    config = load_config(path, {"dumps": [str(sample_dumps[0])]})
    assert config.dumps == [str(sample_dumps[0])]


def test_embeddings_cache_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert load_config().embeddings.cache_dir == str(tmp_path / "cache" / "paper-areas" / "embeddings")
    path = write(tmp_path, f"dumps: [{DEFAULT_CONFIG.parent.parent}/samples/0*.txt]\ntaxonomy: t.yaml\n"
                           "embeddings: {cache_dir: null}\nlabel_model: {prior: gold}\n")
    with pytest.raises(ConfigError, match=r"label_model\.prior: must be one of uniform, estimate, got 'gold'"):
        load_config(path)


@pytest.mark.parametrize("encoding, line", [("latin-1", 2), ("utf-16", 1)])
def test_a_config_that_is_not_utf8_is_one_line_naming_the_file(tmp_path, encoding, line):
    path = tmp_path / "config.yaml"
    path.write_text("dumps: [x]\n# données\ntaxonomy: t.yaml\n", encoding=encoding)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:{line}: not UTF-8 text (byte 0x") and "\n" not in str(info.value)


def test_an_existing_dump_with_brackets_in_its_name_is_a_file_not_a_pattern(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("papers[2024].txt", "papers2.txt"):
        (tmp_path / name).write_text("{}\n")
    path = write(tmp_path, "dumps: ['papers[2024].txt']\ntaxonomy: t.yaml\n")
    assert load_config(path).dumps == load_config(path, {"dumps": ["papers[2024].txt"]}).dumps == [
        str(tmp_path / "papers[2024].txt")]
    assert load_config(path, {"dumps": ["papers[0-9].txt"]}).dumps == [str(tmp_path / "papers2.txt")]  # a pattern


def test_an_unknown_key_names_the_nearest_known_one(tmp_path):
    path = write(tmp_path, "dumps: [x]\ntaxonomy: t.yaml\nend_model: {epoch: 2}\n")
    with pytest.raises(ConfigError, match=r"end_model\.epoch: unknown key, did you mean epochs\? \(known: kind, "):
        load_config(path)


def test_a_single_kind_to_average_with_is_a_list_of_one(tmp_path):
    path = write(tmp_path, "dumps: [x]\ntaxonomy: t.yaml\nend_model: {kind: embedding, average_with: minilm}\n")
    assert load_config(path).end_model.kinds == ["embedding", "minilm"]


def test_hand_label_sheets_are_relative_to_the_config_and_their_settings_checked(tmp_path, monkeypatch):
    path = write(tmp_path, "dumps: [x]\ntaxonomy: t.yaml\nhand_labels: {sheets: round1.csv}\n")
    monkeypatch.chdir(tmp_path.parent)
    assert load_config(path).hand_labels.sheets == [str(tmp_path / "round1.csv")]  # one sheet is a list of one
    assert load_config(path, {"hand_labels": {"sheets": ["r2.csv"]}}).hand_labels.sheets == ["r2.csv"]  # as typed
    bad = write(tmp_path, "dumps: [x]\ntaxonomy: t.yaml\nhand_labels: {learning_rate: 0}\n")
    with pytest.raises(ConfigError, match=r"hand_labels\.learning_rate: must be greater than 0"):
        load_config(bad)


def test_the_flags_of_train_py_set_the_schema_keys_they_name():
    import train

    parser = train.build_parser()
    args = parser.parse_args(["train", "--end-model", "tfidf", "--average-with", "--epochs", "5", "--max-length", "64",
                              "--seed", "3", "--max-papers", "9", "--experiment", "x", "--engine", "spark",
                              "--master", "local[2]", "--gold", "g.jsonl", "--teacher-weight", "0.25",
                              "--hand-labels", "a.csv", "b.json"])
    assert flag_overrides(args) == {
        "dumps": None, "gold": "g.jsonl", "engine": "spark", "spark_master": "local[2]", "mlflow": {"experiment": "x"},
        "end_model": {"kind": "tfidf", "average_with": [], "epochs": 5, "max_length": 64, "seed": 3, "max_papers": 9,
                      "teacher_weight": 0.25}, "hand_labels": {"sheets": ["a.csv", "b.json"]}}
    assert flag_overrides(parser.parse_args(["train"]))["end_model"]["epochs"] is None  # not given: the config's
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--gold", "g.jsonl", "--no-gold"])


def test_the_shipped_configs_state_only_what_differs_from_the_schema():
    schema = TrainConfig(dumps=["x"], taxonomy="t").flat()
    for path in DEFAULT_CONFIG.parent.glob("*.yaml"):
        stated = yaml.safe_load(path.read_text())
        keys = {f"{name}.{key}": value for name, section in stated.items() if isinstance(section, dict)
                for key, value in section.items()}
        keys.update({name: value for name, value in stated.items() if not isinstance(value, dict)})
        assert [key for key, value in keys.items() if schema[key] == value] == [], path.name


def test_the_schema_builds_each_end_model_with_the_estimators_own_defaults():
    schema = TrainConfig(dumps=["x"], taxonomy="t").flat()
    for kind, end_model in END_MODELS.items():
        parameters = inspect.signature(end_model.estimator_class()).parameters
        for param, key in end_model.params.items():
            if key != "embeddings.cache_dir":  # where embeddings are kept: no cache unless asked, the config asks
                assert parameters[param].default == schema[key], f"{kind}: {param} vs {key}"
