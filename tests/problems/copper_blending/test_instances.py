"""Instances: the H62 default, the orthogonal-design generator, YAML round trip."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.problems.copper_blending.ccp import ChanceConstrainedLP
from stagewise.problems.copper_blending.instances import (
    CV_INTERVALS,
    MIXES,
    eq32_price,
    generate_instance,
    load_instance,
    orthogonal_design,
    save_instance,
)


def test_h62_has_the_section_2_1_spec() -> None:
    h62 = load_instance("H62")
    spec = dict(zip(h62.elements, zip(h62.lower, h62.upper, strict=True), strict=True))
    assert spec == {"Cu": (0.605, 0.635), "Zn": (0.365, 0.395), "Imp": (0.0, 0.003)}


def test_pure_metals_are_the_most_expensive_feed_in_h62() -> None:
    h62 = load_instance("H62")
    pure = [p for p, lvl in zip(h62.price, h62.level, strict=True) if lvl == "pure"]
    scrap = [p for p, lvl in zip(h62.price, h62.level, strict=True) if lvl != "pure"]
    assert min(pure) > max(scrap)


@pytest.mark.parametrize("name", ["H62", "5E24M-LMH-2"])
def test_yaml_round_trip_is_identical(name: str, tmp_path) -> None:
    instance = load_instance(name)
    path = save_instance(instance, tmp_path / "instance.yaml")
    assert load_instance(str(path)) == instance


def test_generator_is_a_pure_function_of_its_name() -> None:
    assert load_instance("10E48M-LH-1") == load_instance("10E48M-LH-1")
    assert load_instance("10E48M-LH-1").mean != load_instance("10E48M-LH-2").mean


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_generated_levels_cv_and_prices_follow_table_2_and_eq_32(mix: str) -> None:
    inst = generate_instance(10, 48, mix, seed=0)
    mean, std = np.asarray(inst.mean), np.asarray(inst.std)
    assert len(inst.elements) == 10 and len(inst.materials) == 48
    assert set(inst.level) == {*MIXES[mix], "pure"}
    for i, level in enumerate(inst.level):
        if level == "pure":
            assert np.all(std[i] == 0) and inst.price[i] == pytest.approx(eq32_price(0.0))
            continue
        nonzero = mean[i] > 0
        cv = float(np.mean(std[i, nonzero] / mean[i, nonzero]))
        low, high = CV_INTERVALS[level]
        assert low - 1e-9 <= cv <= high + 1e-9
        assert inst.price[i] == pytest.approx(eq32_price(cv), rel=1e-6)


def test_every_orthogonal_design_cell_has_a_feasible_final_blend() -> None:
    for name in orthogonal_design():
        inst = load_instance(name)
        feed = ChanceConstrainedLP(inst).solve(inst.alpha_star, inst.W)
        assert feed.slack == pytest.approx(0.0, abs=1e-9), name
        assert feed.x.sum() == pytest.approx(inst.W)


def test_unknown_instance_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown copper-blending instance 'H63'"):
        load_instance("H63")
    with pytest.raises(ValueError, match="not found"):
        load_instance("/no/such/file.yaml")
