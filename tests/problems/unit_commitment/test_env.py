"""Unit-commitment dynamics: repairs, balances, costs per step, and the published-code bugs."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import stagewise
from stagewise.core.config import ConfigError
from stagewise.problems.unit_commitment.config import UnitCommitmentConfig
from stagewise.problems.unit_commitment.env import UnitCommitmentEnv
from tests.published import published

PUBLISHED = published("unit_commitment", "unit_commitment_config.json")
SHIPPED = (
    Path(stagewise.__file__).parent / "problems/unit_commitment/data/unit_commitment_config.json"
)


def decision(u: list[int], p: list[float], theta: list[float] | None = None) -> dict:
    out = {"u": np.array(u, float), "p": np.array(p, float)}
    if theta is not None:
        out["theta"] = np.array(theta, float)
    return out


def step(env: UnitCommitmentEnv, d: dict) -> tuple[float, dict]:
    _, reward, _, _, info = env.step(env.encode(d))
    return reward, info


def test_first_hour_reward_by_hand() -> None:
    env = UnitCommitmentEnv()
    env.reset(seed=0)
    reward, info = step(env, decision([1, 0, 0, 0, 0], [300, 20, 20, 20, 55]))
    # c of all five units (3410) + unit 0 at 300 MW; 62 MW of the 362 MW demand shed.
    generation = 3410 + 0.00048 * 300**2 + 16.19 * 300
    assert reward == pytest.approx(-(generation + 100 * 62))
    assert info["reward_terms"]["reserve_shortfall"] == 0.0
    assert info["cost"] == 0.0


def test_min_up_time_forces_a_fresh_unit_on_and_is_charged() -> None:
    env = UnitCommitmentEnv()
    env.reset(seed=0)
    step(env, decision([1, 1, 0, 0, 0], [300, 20, 20, 20, 55]))
    _, info = step(env, decision([1, 0, 0, 0, 0], [300, 20, 20, 20, 55]))
    assert info["costs"]["min_up_down"] == 1.0  # penalty_factor_UT x one repaired unit
    assert info["state"]["u"][1] == 1.0 and info["state"]["p"][1] == pytest.approx(20.0)


def test_min_down_time_keeps_a_stopped_unit_off() -> None:
    env = UnitCommitmentEnv()
    env.reset(seed=0)
    step(env, decision([1, 0, 0, 1, 0], [300, 20, 20, 20, 55]))
    for _ in range(2):  # UT of unit 3 is 3 hours
        step(env, decision([1, 0, 0, 1, 0], [300, 20, 20, 20, 55]))
    step(env, decision([1, 0, 0, 0, 0], [300, 20, 20, 20, 55]))
    _, info = step(env, decision([1, 0, 0, 1, 0], [300, 20, 20, 20, 55]))
    assert info["costs"]["min_up_down"] == 1.0
    assert info["state"]["u"][3] == 0.0 and info["state"]["p"][3] == 0.0


def test_start_up_beyond_the_start_up_rate_is_clipped_and_charged() -> None:
    env = UnitCommitmentEnv()
    env.reset(seed=0)
    _, info = step(env, decision([1, 1, 0, 0, 0], [300, 130, 20, 20, 55]))
    assert info["state"]["p"][1] == pytest.approx(85.0)  # SU of unit 1
    assert info["costs"]["ramping"] == pytest.approx(0.1 * 45.0)


def test_costs_are_per_step_not_cumulative() -> None:
    """Published code bug: its cost accumulated over the episode."""
    env = UnitCommitmentEnv()
    env.reset(seed=0)
    _, violating = step(env, decision([1, 1, 0, 0, 0], [300, 130, 20, 20, 55]))
    _, clean = step(env, decision([1, 1, 0, 0, 0], [300, 85, 20, 20, 55]))
    assert violating["cost"] > 0.0
    assert clean["cost"] == 0.0


def test_commitment_is_binary_whatever_the_action() -> None:
    """Published code bug: with scale_action=false the on/off entry was used as a fraction."""
    env = gym.make("stagewise/UnitCommitment-v0").unwrapped
    env.reset(seed=0)
    action = np.zeros(10, dtype=np.float32)
    action[:5] = [0.3, -0.3, 0.01, -0.01, 0.0]
    assert env.decode(action)["u"].tolist() == [1.0, 0.0, 1.0, 0.0, 0.0]
    _, _, _, _, info = env.step(action)
    on = info["state"]["u"] == 1.0
    assert set(info["state"]["u"].tolist()) <= {0.0, 1.0}
    assert np.all(info["state"]["p"][~on] == 0.0)


@pytest.mark.parametrize("variant", ["v0", "v1"])
def test_random_actions_keep_state_feasible_and_energy_balanced(variant: str) -> None:
    env = gym.make("stagewise/UnitCommitment-v0", variant=variant)
    cfg: UnitCommitmentConfig = env.unwrapped.config
    dyn = env.unwrapped.dynamics
    env.action_space.seed(4)
    _, info = env.reset(seed=4)
    for _ in range(48):
        before = info["state"]
        demand = before["demand_forecast"][0]
        _, _, terminated, _, info = env.step(env.action_space.sample())
        u, p, theta = info["state"]["u"], info["state"]["p"], info["state"]["theta"]
        u_prev, p_prev = before["u"], before["p"]
        assert np.all((p >= np.array(cfg.P_min) * u - 1e-9) | (p >= p_prev - dyn.RD - 1e-9))
        assert np.all(p <= np.array(cfg.P_max) * u + 1e-9)
        start = np.maximum(u - u_prev, 0)
        assert np.all(p - p_prev <= dyn.RU * u_prev + dyn.SU * start + 1e-6)
        # Energy balance: served load + shed load = demand wherever generation falls short.
        flow = np.clip(dyn.B * (theta @ dyn.incidence.T), dyn.F_min, dyn.F_max) if dyn.n_line else 0
        net_import = -flow @ dyn.incidence if dyn.n_line else 0.0
        shed = np.maximum(demand - p @ dyn.gen_at_bus - net_import, 0.0)
        assert info["reward_terms"]["load_shedding"] == pytest.approx(-cfg.C_LS * shed.sum())
        if dyn.n_line:
            assert np.sum(net_import) == pytest.approx(0.0, abs=1e-9)  # lines conserve power
        if terminated:
            _, info = env.reset(seed=5)


def test_min_up_down_never_violated_in_the_repaired_history() -> None:
    env = gym.make("stagewise/UnitCommitment-v0")
    cfg = env.unwrapped.config
    env.action_space.seed(9)
    env.reset(seed=9)
    rows = []
    for _ in range(24):
        _, _, _, _, info = env.step(env.action_space.sample())
        rows.append(info["state"]["u"].copy())
    history = np.vstack([np.array([s[0] for s in cfg.u0_seq]), *rows])
    for i in range(cfg.n_gen):
        runs = np.split(history[:, i], np.flatnonzero(np.diff(history[:, i])) + 1)
        for k, run in enumerate(runs[1:-1], start=1):  # complete runs inside the episode
            need = cfg.UT[i] if run[0] == 1 else cfg.DT[i]
            assert len(run) >= need, f"unit {i} run {k} lasted {len(run)} < {need}"


def test_reset_does_not_touch_global_random_state() -> None:
    """Published code bug: reset(seed) seeded Python, numpy and torch globally."""
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    env = gym.make("stagewise/UnitCommitment-v0", model_type="normal")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert np.random.random() == expected


def test_stochastic_demand_is_seeded() -> None:
    env = gym.make("stagewise/UnitCommitment-v0", model_type="normal")
    first = env.reset(seed=3)[1]["state"]["demand_forecast"]
    again = env.reset(seed=3)[1]["state"]["demand_forecast"]
    other = env.reset(seed=4)[1]["state"]["demand_forecast"]
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert np.all(first >= 0.0)


def test_observation_starts_with_the_on_off_history_in_a_fixed_order() -> None:
    """Published code bug: its declared bounds followed alphabetical Dict order, not the vector."""
    env = UnitCommitmentEnv(variant="v1")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (68,)
    assert obs[:9].tolist() == [1.0] * 9 and obs[9:27].tolist() == [0.0] * 18
    assert env.observation_space.contains(obs)


def test_published_file_loads_as_it_is_and_matches_the_shipped_copy() -> None:
    for variant in ("v0", "v1"):
        published = UnitCommitmentEnv(config=str(PUBLISHED), variant=variant).config
        assert published == UnitCommitmentConfig(variant=variant)


def test_default_data_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    """Published code bug: data paths were relative to the working directory."""
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert UnitCommitmentEnv(config=str(SHIPPED)).config == UnitCommitmentConfig()
    finally:
        os.chdir(cwd)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="P_min"):
        UnitCommitmentEnv(P_min=[150, 20, 20, 20])
    with pytest.raises(ConfigError, match="variant"):
        UnitCommitmentEnv(variant="v2")
