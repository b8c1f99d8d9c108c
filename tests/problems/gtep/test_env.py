"""GTEP dynamics: repairs, power balance, line installation, and the published-code issues."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import stagewise
from stagewise.core.config import ConfigError
from stagewise.problems.gtep.config import GTEPConfig
from stagewise.problems.gtep.env import GTEPEnv
from tests.published import published

PUBLISHED = published("gtep", "gen_trans_config.json")
SHIPPED = Path(stagewise.__file__).parent / "problems/gtep/data/gen_trans_config.json"


def nothing(env: GTEPEnv) -> dict:
    dyn = env.dynamics
    out = {"add": np.zeros(dyn.max_units.shape)}
    if dyn.lines:
        out["flow"] = np.zeros(len(dyn.lines))
    return out


def test_addition_beyond_the_regional_maximum_is_cut_and_charged() -> None:
    env = GTEPEnv()
    env.reset(seed=0)
    d = nothing(env)
    d["add"][0, 0] = 5  # M(i1, r1) = 5
    env.step(env.encode(d))
    _, reward, _, _, info = env.step(env.encode(d))
    assert info["state"]["n"][0, 0] == 5
    assert reward == 0.0  # nothing admitted, nothing paid
    assert info["costs"]["generator_bound"] == pytest.approx(10 + 10 * 5**2)


def test_unmet_demand_is_charged_l0_plus_l2_per_region() -> None:
    env = GTEPEnv()
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.encode(nothing(env)))
    # Period 1 demand 5, 5, 10, 0, 5: four regions short.
    assert info["costs"]["demand_balance"] == pytest.approx(4 * 10 + 10 * (25 + 25 + 100 + 25))


def test_positive_flow_on_ra_rb_feeds_rb() -> None:
    """The paper's Pow^avail adds outflow and subtracts inflow; the physics (and code) do not."""
    env = GTEPEnv()
    env.reset(seed=0)
    d = nothing(env)
    d["add"][0, 0] = 1  # 15 MW in r1
    d["flow"][env.dynamics.lines.index("r1_r3")] = 5.0
    d["flow"][env.dynamics.lines.index("r1_r5")] = 5.0
    d["add"][1, 1] = 1  # 5 MW in r2
    _, _, _, _, info = env.step(env.encode(d))
    assert info["costs"]["demand_balance"] == pytest.approx(10 + 10 * 5**2)  # r3 short by 5 only


def test_line_is_built_and_paid_once_on_its_first_real_flow() -> None:
    env = GTEPEnv()
    env.reset(seed=0)
    k = env.dynamics.lines.index("r1_r2")
    d = nothing(env)
    d["flow"][k] = 5e-4  # below flow_epsilon: no flow
    _, reward, _, _, info = env.step(env.encode(d))
    assert reward == 0.0 and info["state"]["built"][k] == 0.0
    d["flow"][k] = -2.0
    _, reward, _, _, info = env.step(env.encode(d))
    assert reward == pytest.approx(-0.1) and info["state"]["built"][k] == 1.0
    _, reward, _, _, info = env.step(env.encode(d))
    assert reward == 0.0 and info["state"]["built"][k] == 1.0


@pytest.mark.parametrize("transmission", [True, False])
def test_random_actions_conserve_power_and_respect_bounds(transmission: bool) -> None:
    env = gym.make("stagewise/GTEP-v0", transmission=transmission)
    cfg: GTEPConfig = env.unwrapped.config
    dyn = env.unwrapped.dynamics
    env.action_space.seed(1)
    _, info = env.reset(seed=1)
    for _ in range(30):
        action = env.action_space.sample()
        decision = env.unwrapped.decode(action)
        before = info["state"]
        _, reward, done, _, info = env.step(action)
        n = info["state"]["n"]
        assert np.all(n <= dyn.max_units) and np.all(n >= before["n"])
        assert np.all(info["state"]["built"] >= before["built"])
        added = n - before["n"]
        assert reward == pytest.approx(
            -(added * dyn.unit_cost[:, None]).sum() + info["reward_terms"]["lines"]
        )
        supply = (n * dyn.unit_capacity[:, None]).sum(axis=0)
        if dyn.lines:
            flow = np.where(np.abs(decision["flow"]) <= cfg.flow_epsilon, 0, decision["flow"])
            net_import = flow @ dyn.incidence
            assert net_import.sum() == pytest.approx(0.0, abs=1e-9)  # lines conserve power
            supply = supply + net_import
        unmet = np.maximum(before["demand_forecast"][0] - supply, 0.0)
        expected = np.where(unmet > 1e-5, 10 + 10 * unmet**2, 0.0).sum()
        assert info["costs"]["demand_balance"] == pytest.approx(expected)
        if done:
            _, info = env.reset(seed=2)


def test_demand_window_is_zero_padded_beyond_the_horizon() -> None:
    env = GTEPEnv()
    env.reset(seed=0)
    for _ in range(9):
        *_, info = env.step(env.encode(nothing(env)))
    window = info["state"]["demand_forecast"]
    assert window[0].tolist() == [75, 75, 45, 42, 14] and window[1].tolist() == [0] * 5


def test_no_lines_variant_has_the_smaller_spaces() -> None:
    env = GTEPEnv(transmission=False)
    assert env.action_space.shape == (10,)
    assert env.observation_space.shape == (21,)
    assert GTEPEnv().observation_space.shape == (31,)


def test_published_file_loads_as_it_is_and_matches_the_shipped_copy() -> None:
    assert GTEPEnv(config=str(PUBLISHED)).config == GTEPConfig()


def test_default_data_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    """Published code bug: data paths were relative to the working directory."""
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert GTEPEnv(config=str(SHIPPED)).config == GTEPConfig()
    finally:
        os.chdir(cwd)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="maxgen"):
        GTEPEnv(maxgen={"i1": {"r1": 1}})
    with pytest.raises(ConfigError, match="tlcap"):
        GTEPEnv(
            tlcap={"r1_r9": 5.0},
            installcost={"generators": {"i1": 1, "i2": 1}, "transmission": {"r1_r9": 0.1}},
        )
