"""GridStorage dynamics: SOC, DC flows, balance, the bound penalties that fire, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import stagewise
from stagewise.core.config import ConfigError
from stagewise.problems.grid_storage.config import GridStorageConfig
from stagewise.problems.grid_storage.env import GridStorageEnv
from tests.published import published

DATA = Path(stagewise.__file__).parent / "problems/grid_storage/data"


def balanced(env: GridStorageEnv) -> dict:
    """Each bus serves its own load from its generator; batteries keep their energy."""
    g = env.dynamics.data
    t = env.unwrapped._state["t"][0]
    discharge = charge = np.maximum(g.c_min, g.d_min)
    p = g.demand[t] @ g.gen_at_bus.T - (discharge - charge) @ g.gen_at_bus.T
    return {
        "p": p,
        "charge": charge,
        "discharge": discharge,
        "shed": np.zeros(g.n_bus),
        "theta": np.zeros(g.n_bus - 1),
    }


def test_spaces_have_the_papers_dimensions() -> None:
    env = GridStorageEnv()
    assert env.action_space.shape == (14,)  # 3 + 3 + 3 + 3 + 2
    assert env.observation_space.shape == (31,)  # 2N + 2L + N k + 1


def test_balanced_dispatch_is_free_and_costs_the_constant_230_per_hour() -> None:
    env = GridStorageEnv()
    env.reset(seed=0)
    for _ in range(24):
        _, reward, done, _, info = env.step(env.encode(balanced(env)))
        assert info["cost"] == 0.0
        assert reward == pytest.approx(-230.0)  # degree 1: C_g0 p^0 whatever p is
    assert done


def test_shifted_cost_polynomial_charges_per_mw() -> None:
    env = GridStorageEnv(cost_polynomial="shifted")
    env.reset(seed=0)
    d = balanced(env)
    _, reward, _, _, info = env.step(env.encode(d))
    assert reward == pytest.approx(-(100 * d["p"][0] + 80 * d["p"][1] + 50 * d["p"][2]), rel=1e-6)
    assert info["cost"] == 0.0


def test_soc_bound_penalty_fires_and_energy_is_clipped() -> None:
    """Published-code bug: SOC bound penalties were dead code and SOC ran to 24.5."""
    env = GridStorageEnv()
    env.reset(seed=0)
    d = balanced(env)
    d["charge"] = env.dynamics.data.c_max.copy()
    d["discharge"] = env.dynamics.data.d_min.copy()
    d["p"] = d["p"] + (d["charge"] - d["discharge"]) @ env.dynamics.data.gen_at_bus.T
    total = 0.0
    for _ in range(5):
        _, _, _, _, info = env.step(env.encode(d))
        total += info["costs"]["soc"]
        assert np.all(info["state"]["E"] <= env.dynamics.data.e_max + 1e-12)
    # bus 1: 0.5 + 5 x 1.0 charged into E_max 1.0 -> 4.5 p.u. clipped, phi 20.
    assert total >= 20 * 4.5


def test_de_energised_line_carries_no_flow_and_angles_move_power() -> None:
    env = GridStorageEnv()
    env.reset(seed=0)
    d = balanced(env)
    d["theta"] = np.array([-0.1, 0.05])  # theta_2, theta_3
    _, _, _, _, info = env.step(env.encode(d))
    flow = info["state"]["flow"]
    assert flow[1] == 0.0  # (2,3) is de-energised
    assert flow[0] == pytest.approx(12 * (0 - -0.1), rel=1e-6)  # (1,2): bus 1 -> bus 2
    assert flow[2] == pytest.approx(11 * (0.05 - 0), rel=1e-6)  # (3,1): bus 3 -> bus 1
    # Bus 2 receives 1.2 MW it does not need: over-generation charged at phi_balance.
    # Bus 1 gets 0.55 back net-short 0.65: slack at K_slack; bus 3 short 0.55: slack too.
    assert info["costs"]["balance"] == pytest.approx(100 * 1.2, rel=1e-4)
    assert info["state"]["slack"] == pytest.approx([0.65, 0.0, 0.55], abs=1e-4)


def test_angle_difference_outside_its_bounds_is_charged() -> None:
    env = GridStorageEnv()
    env.reset(seed=0)
    d = balanced(env)
    d["theta"] = np.array([0.0, 0.3])  # (3,1) difference 0.3 > 0.20
    _, _, _, _, info = env.step(env.encode(d))
    assert info["costs"]["angle"] == pytest.approx(20 * 0.1, rel=1e-5)


def test_shedding_beyond_the_bus_demand_is_cut_and_charged() -> None:
    env = GridStorageEnv()
    env.reset(seed=0)
    d = balanced(env)
    d["shed"] = np.array([50.0, 0.0, 0.0])  # demand at bus 1 in hour 1: 45
    d["p"][0] = 10.0  # p_min
    *_, info = env.step(env.encode(d))
    assert info["costs"]["shed"] == pytest.approx(100 * 5.0, rel=1e-5)
    assert info["reward_terms"]["shed"] == pytest.approx(-100 * 45.0, rel=1e-6)
    assert info["costs"]["balance"] == pytest.approx(100 * 10.0, rel=1e-5)  # p_min unused


def test_random_actions_keep_energy_and_power_balances() -> None:
    env = gym.make("stagewise/GridStorage-v0")
    g = env.unwrapped.dynamics.data
    env.action_space.seed(3)
    _, info = env.reset(seed=3)
    for _ in range(60):
        action = env.action_space.sample()
        d = env.unwrapped.decode(action)
        before = info["state"]
        _, reward, done, _, info = env.step(action)
        s = info["state"]
        energy = g.gamma * before["E"] + g.eta * d["charge"] - d["discharge"] / g.eta
        assert np.allclose(s["E"], np.clip(energy, g.e_min, g.e_max))
        assert info["costs"]["soc"] == pytest.approx(20 * np.abs(energy - s["E"]).sum(), abs=1e-3)
        inflow = -s["flow"] @ g.incidence
        assert inflow.sum() == pytest.approx(0.0, abs=1e-9)  # lines conserve power
        demand = g.demand[before["t"]]
        shed = np.minimum(d["shed"], demand)
        surplus = d["p"] @ g.gen_at_bus + s["slack"] + shed + d["discharge"] - d["charge"]
        surplus = surplus + inflow - demand
        assert info["costs"]["balance"] == pytest.approx(
            100 * np.maximum(surplus, 0).sum(), abs=1e-3
        )
        assert np.all(surplus >= -1e-5) or info["costs"]["slack"] > 0
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
        if done:
            _, info = env.reset(seed=4)


@pytest.mark.parametrize("name", ["battery_config.json", "config_small.json", "config_small2.json"])
def test_published_files_load_as_they_are(name: str) -> None:
    path = published("grid_storage", name)
    env = GridStorageEnv(config=str(path))
    assert env.config == GridStorageEnv(config=str(DATA / name)).config
    env.reset(seed=0)
    env.step(env.action_space.sample())
    if name == "battery_config.json":
        assert env.config == GridStorageConfig()


def test_default_data_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert GridStorageEnv().config.time_periods == 24
    finally:
        os.chdir(cwd)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="GeneratorUpperLimit"):
        GridStorageEnv(GeneratorUpperLimit={"1": -5.0, "2": 90.0, "3": 80.0})
    with pytest.raises(ConfigError, match="DemandForecastHorizon"):
        GridStorageEnv(DemandForecastHorizon=30)
    with pytest.raises(ConfigError, match="DeEnergizedLines"):
        GridStorageEnv(DeEnergizedLines=[[1, 3]])
    with pytest.raises(ConfigError, match="BatteryInitialCharge"):
        GridStorageEnv(BatteryInitialCharge={"1": 2.0, "2": 0.6, "3": 0.4})
    with pytest.raises(ConfigError, match="not found"):
        GridStorageEnv(config="no/such/file.json")


def test_nan_action_is_a_value_error() -> None:
    env = GridStorageEnv()
    env.reset(seed=0)
    action = np.zeros(14, dtype=np.float32)
    action[3] = np.nan
    with pytest.raises(ValueError, match="GridStorage"):
        env.step(action)


@pytest.mark.parametrize("reading", ["published", "shifted"])
def test_generation_cost_is_the_configured_polynomial(reading: str) -> None:
    cost = {"(1,0)": 1.0, "(1,1)": 2.0, "(2,1)": 0.5, "(3,0)": 3.0}
    env = GridStorageEnv(PolynomialDegree=2, GeneratorCost=cost, cost_polynomial=reading)
    env.reset(seed=0)
    d = balanced(env)
    _, _, _, _, info = env.step(env.encode(d))
    p, shift = d["p"], 1 if reading == "shifted" else 0
    expected = 1.0 * p[0] ** shift + 2.0 * p[0] ** (1 + shift) + 0.5 * p[1] ** (1 + shift) + 3.0
    if shift:
        expected += 3.0 * p[2] - 3.0
    assert info["reward_terms"]["generation"] == pytest.approx(-expected, rel=1e-6)
