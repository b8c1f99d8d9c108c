"""Config loading: files, overrides and error messages."""

import json

import pytest
from pydantic import Field

from stagewise.core.config import (
    ConfigError,
    ProblemConfig,
    config_fields,
    load_config,
    unwrap_published,
)


class PlantConfig(ProblemConfig):
    capacity: float = Field(10.0, gt=0, description="plant capacity (MW)")
    demand: list[float] = Field(default_factory=lambda: [1.0, 2.0])


def test_defaults_overrides_and_dicts() -> None:
    assert load_config(PlantConfig).capacity == 10.0
    assert load_config(PlantConfig, {"capacity": 3}, {"demand": [5.0]}).demand == [5.0]


def test_json_and_yaml_files_load(tmp_path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"capacity": 4}))
    (tmp_path / "a.yaml").write_text("capacity: 5\n")
    assert load_config(PlantConfig, tmp_path / "a.json").capacity == 4
    assert load_config(PlantConfig, str(tmp_path / "a.yaml")).capacity == 5


def test_errors_list_every_field_with_value_and_file(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"capacity": -2, "demand": "lots", "colour": "red"}))
    with pytest.raises(ConfigError) as info:
        load_config(PlantConfig, path)
    text = str(info.value)
    assert str(path) in text
    assert "capacity = -2" in text and "demand = 'lots'" in text and "colour" in text
    assert len(info.value.problems) == 3


def test_non_finite_numbers_are_rejected() -> None:
    with pytest.raises(ConfigError, match="capacity"):
        load_config(PlantConfig, {"capacity": float("inf")})


def test_unparsable_and_missing_files_name_the_file(tmp_path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(PlantConfig, bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(PlantConfig, tmp_path / "missing.yaml")


def test_config_fields_lists_defaults_and_descriptions() -> None:
    rows = {name: (default, doc) for name, _, default, doc in config_fields(PlantConfig)}
    assert rows["capacity"] == (10.0, "plant capacity (MW)")
    assert rows["demand"][0] == [1.0, 2.0]


def test_unwrap_published_reads_through_the_wrapper_and_drops_ignored_keys() -> None:
    published = {"env_init_cfgs": {"T": 6, "v": 0}, "action_sample_file": "a.json", "x": 1}
    flat = unwrap_published(published, ("v", "action_sample_file"))
    assert flat == {"T": 6, "x": 1}
    assert unwrap_published({"T": 6, "v": 0}) == {"T": 6, "v": 0}  # a flat dict as it is
    assert "env_init_cfgs" in published  # the input is left alone
