"""Reading scalar and per-family costs from single and vector infos."""

import numpy as np
import pytest

from stagewise.agents.common.costs import CostSpec


def test_scalar_mode_defaults_to_zero_without_cost():
    spec = CostSpec.from_config(5.0, None)
    assert spec.from_info({}).tolist() == [0.0]
    assert spec.from_vector_info({}, 3).shape == (3, 1)


def test_per_family_reads_step_and_final_info():
    spec = CostSpec.from_config(0.0, {"b": 1.0, "a": 2.0})
    mask = np.array([True, False])
    infos = {
        "costs": {"a": np.array([1.0, 0.0]), "_a": mask, "b": np.array([2.0, 0.0]), "_b": mask},
        "final_info": {
            "costs": {"a": np.array([0, 5.0]), "_a": ~mask, "b": np.array([0, 6.0]), "_b": ~mask}
        },
    }
    np.testing.assert_array_equal(spec.from_vector_info(infos, 2), [[2.0, 1.0], [6.0, 5.0]])
    np.testing.assert_array_equal(spec.limits, [1.0, 2.0])


def test_unknown_family_is_named():
    spec = CostSpec.from_config(0.0, {"speed": 1.0})
    with pytest.raises(ValueError, match="speed"):
        spec.from_info({"cost": 1.0, "costs": {"energy": 1.0}})


def test_per_family_without_costs_dict_fails():
    spec = CostSpec.from_config(0.0, {"speed": 1.0})
    with pytest.raises(ValueError, match="no 'costs'"):
        spec.from_vector_info({"cost": np.zeros(2)}, 2)


@pytest.mark.parametrize("limits", [{}, {"a": -1.0}, {"a": float("nan")}])
def test_bad_limits_rejected(limits):
    with pytest.raises(ValueError, match="cost"):
        CostSpec.from_config(1.0, limits)
