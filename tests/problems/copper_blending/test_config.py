"""Config validation: bad instance data is a ConfigError naming the field."""

from __future__ import annotations

import pytest

from stagewise.core.config import ConfigError, load_config
from stagewise.problems.copper_blending.config import CopperBlendingConfig
from stagewise.problems.copper_blending.instances import load_instance, save_instance


def h62_with(**changes: object) -> dict:
    data = load_instance("H62").model_dump()
    data.update(changes)
    return {"instance": data}


def bad(config: dict, *fragments: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(CopperBlendingConfig, config)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_default_config_loads_h62() -> None:
    assert load_config(CopperBlendingConfig).instance.name == "H62"


def test_instance_accepts_a_yaml_path(tmp_path) -> None:
    path = save_instance(load_instance("5E24M-LM-0"), tmp_path / "i.yaml")
    assert load_config(CopperBlendingConfig, {"instance": str(path)}).instance.name == "5E24M-LM-0"


def test_negative_std_is_rejected() -> None:
    std = load_instance("H62").model_dump()["std"]
    std[0][1] = -0.01
    bad(h62_with(std=std), "instance.std.0.1", "greater than or equal to 0")


def test_wrong_vector_length_is_rejected() -> None:
    bad(h62_with(price=[1500.0] * 7), "instance", "price has 7 entries, expected 8")


def test_matrix_of_wrong_shape_is_rejected() -> None:
    mean = load_instance("H62").model_dump()["mean"]
    mean[2] = mean[2][:2]
    bad(h62_with(mean=mean), "mean must be 8 x 3")


def test_lower_above_upper_is_rejected() -> None:
    bad(h62_with(lower=[0.64, 0.365, 0.0]), "lower > upper", "Cu")


def test_mean_fractions_above_one_are_rejected() -> None:
    mean = load_instance("H62").model_dump()["mean"]
    mean[0] = [0.7, 0.4, 0.0]
    bad(h62_with(mean=mean), "brass_turnings_mixed", "sum above 1")


def test_inventory_below_batch_weight_is_rejected() -> None:
    bad(h62_with(inventory=[0.5] * 8), "below the batch weight")


def test_nan_price_and_alpha_star_out_of_range_are_rejected() -> None:
    price = [float("nan"), *load_instance("H62").price[1:]]
    bad(h62_with(price=price), "instance.price.0")
    bad(h62_with(alpha_star=1.0), "instance.alpha_star")


def test_unknown_instance_name_names_the_field() -> None:
    bad({"instance": "H99"}, "instance = 'H99'", "unknown copper-blending instance")


def test_noisy_pure_material_is_rejected() -> None:
    std = load_instance("H62").model_dump()["std"]
    std[6][0] = 0.01
    bad(h62_with(std=std), "copper_cathode", "zero std")
