"""ASU dynamics: convex-hull actions, inventories, daily demand, costs, observation, config."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stagewise
from stagewise.core.config import ConfigError
from stagewise.problems.asu.config import ASUConfig
from stagewise.problems.asu.env import STOCK_TOL, ASUEnv, hull_vertices
from tests.published import published

PUBLISHED = published("asu", "asuenv_config.json")
SHIPPED = Path(stagewise.__file__).parent / "problems/asu/data/asuenv_config.json"
FIRST_PRICE = 0.11393  # day 1, hour 1
DAY1 = np.array([24598.82533599655, 6301.14992369829, 438.49125941458306])


def weights(env: ASUEnv, values: list[float]) -> np.ndarray:
    return env.encode({"weights": np.asarray(values, dtype=float)})


def test_case_study_spaces_and_horizon() -> None:
    env = ASUEnv()
    assert env.observation_space.shape == (483,)  # 120 prices + 3 x 120 demands + 3 stocks
    assert env.action_space.shape == (5,)
    assert env.horizon == 168


def test_every_published_point_is_a_hull_vertex_and_interior_points_are_dropped() -> None:
    points = ASUConfig().points()
    assert hull_vertices(points).tolist() == [0, 1, 2, 3, 4]
    centre = points.mean(axis=0)
    extended = np.vstack([points[:2], centre, points[2:], points[0]])  # interior and repeat
    assert hull_vertices(extended).tolist() == [0, 1, 3, 4, 5]


def test_weights_are_normalized_and_the_first_vertex_is_paid_at_the_hour_price() -> None:
    env = ASUEnv()
    v = env.dynamics.vertices
    env.reset(seed=0)
    _, r_half, _, _, info_half = env.step(weights(env, [0.5, 0.5, 0, 0, 0]))
    env.reset(seed=0)
    _, r_one, _, _, info_one = env.step(weights(env, [1.0, 1.0, 0, 0, 0]))
    produced = (v[0] + v[1]) / 2
    assert info_half["state"]["iv"] == pytest.approx(np.array([200, 100, 50]) + produced)
    assert info_one["state"]["iv"] == pytest.approx(info_half["state"]["iv"])
    assert r_one == pytest.approx(r_half)
    # The fixed cost is electricity too: it is paid at the hour's price (published optimum).
    assert info_half["reward_terms"]["fixed"] == pytest.approx(-FIRST_PRICE * 36)
    assert info_half["reward_terms"]["variable"] == pytest.approx(
        -FIRST_PRICE * 0.24192 * produced.sum()
    )


def test_all_zero_weights_are_off_and_free() -> None:
    env = ASUEnv()
    env.reset(seed=0)
    _, reward, _, _, info = env.step(-np.ones(5, dtype=np.float32))
    assert reward == 0.0 and info["cost"] == 0.0
    assert info["state"]["iv"].tolist() == [200, 100, 50]
    assert info["state"]["t"] == 1


def test_daily_demand_is_shipped_at_the_last_hour_and_the_shortfall_charged() -> None:
    env = ASUEnv()
    env.reset(seed=0)
    off = -np.ones(5, dtype=np.float32)
    for hour in range(23):
        *_, info = env.step(off)
        assert info["costs"]["demand_shortfall"] == 0.0, hour
    *_, info = env.step(off)
    assert info["costs"]["demand_shortfall"] == pytest.approx(20 * (DAY1 - [200, 100, 50]).sum())
    assert info["state"]["iv"].tolist() == [0, 0, 0]
    assert info["state"]["t"] == 24


def test_stock_is_capped_at_every_hour_and_shipped_after_the_last_hours_production() -> None:
    env = ASUEnv()
    v = env.dynamics.vertices
    env.reset(seed=0)
    for hour in range(24):
        *_, info = env.step(weights(env, [1, 0, 0, 0, 0]))
        # 200 + 19 x 1333.3 LIN passes the 25,000 tank before the day's shipment.
        assert (info["costs"]["inventory_overflow"] > 0) == (18 <= hour < 23), hour
    env.reset(seed=0)
    for hour in range(24):
        action = [1, 0, 0, 0, 0] if hour >= 5 else [0, 0, 0, 0, 0]
        *_, info = env.step(weights(env, action))
        assert info["cost"] == 0.0, hour
    expected = np.array([200, 100, 50]) + 19 * v[0] - DAY1
    assert info["state"]["iv"] == pytest.approx(expected)


def test_overflow_is_lost_and_charged_linearly() -> None:
    """Published code bug: the overflow penalty is divided by 5 once the excess tops 10,000."""
    big = {"LIN": {str(x): 40000.0 for x in range(1, 6)}, "LOX": {}, "LAR": {}}
    big["LOX"] = {str(x): 1.0 + x for x in range(1, 6)}
    big["LAR"] = {str(x): float(x * x) for x in range(1, 6)}
    big["LIN"]["1"] = 41000.0
    env = ASUEnv(liq_prod_data=big, IV_i={"LIN": 20000.0, "LOX": 0.0, "LAR": 0.0})
    env.reset(seed=0)
    _, _, _, _, info = env.step(weights(env, [1, 0, 0, 0, 0]))
    assert info["costs"]["inventory_overflow"] == pytest.approx(20000 + 41000 - 25000)
    assert info["state"]["iv"][0] == 25000.0


def test_shortfall_and_overflow_below_the_tolerance_are_not_charged() -> None:
    env = ASUEnv(IV_i={"LIN": 25000.0 - 1333.3333333333333 + STOCK_TOL / 2, "LOX": 0, "LAR": 0})
    env.reset(seed=0)
    _, _, _, _, info = env.step(weights(env, [1, 0, 0, 0, 0]))
    assert info["costs"]["inventory_overflow"] == 0.0
    assert info["state"]["iv"][0] == 25000.0


def test_random_actions_conserve_stock_and_pay_the_hour_price() -> None:
    env = gym.make("stagewise/ASU-v0")
    dyn = env.unwrapped.dynamics
    env.action_space.seed(3)
    _, info = env.reset(seed=3)
    rng = np.random.default_rng(3)
    for step in range(400):
        action = env.action_space.sample()
        if step % 7 == 0:
            action[rng.random(5) < 0.6] = -1.0  # some weights at 0, sometimes all ("Off")
        lam = env.unwrapped.decode(action)["weights"]
        before = info["state"]
        t = before["t"]
        _, reward, done, _, info = env.step(action)
        on = lam.sum() > 0
        pq = (lam / lam.sum()) @ dyn.vertices if on else np.zeros(3)
        due = dyn.daily_demand[t // 24] if t % 24 == 23 else np.zeros(3)
        shipped = np.minimum(before["iv"] + pq, due)
        lost = info["costs"]["inventory_overflow"]  # rho_IV = 1 per unit
        after = info["state"]["iv"]
        assert np.all(after >= 0) and np.all(after <= dyn.capacity)
        assert after.sum() == pytest.approx(before["iv"].sum() + pq.sum() - shipped.sum() - lost)
        assert info["costs"]["demand_shortfall"] == pytest.approx(20 * (due - shipped).sum())
        assert reward == pytest.approx(-dyn.price[t] * (36 * on + 0.24192 * pq.sum()))
        if done:
            assert info["state"]["t"] == 168
            _, info = env.reset(seed=4)


def test_observation_shifts_the_day_window_and_pads_it() -> None:
    env = ASUEnv()
    dyn = env.dynamics
    obs, _ = env.reset(seed=0)
    prices = dyn.price / dyn.price.max()
    assert obs[:120] == pytest.approx(prices[:120], abs=1e-6)
    lin = obs[120:240]
    assert np.flatnonzero(lin).tolist() == [23, 47, 71, 95, 119]
    assert lin[23] == pytest.approx(DAY1[0] / dyn.daily_demand[:, 0].max(), abs=1e-6)
    assert obs[-3:] == pytest.approx(np.array([200, 100, 50]) / dyn.capacity, abs=1e-7)
    for _ in range(5):
        obs, *_ = env.step(-np.ones(5, dtype=np.float32))
    # Five hours later: the day-start window shifted left by 5, the tail padded.
    assert obs[:115] == pytest.approx(prices[5:120], abs=1e-6)
    assert obs[115:120] == pytest.approx(np.full(5, prices[5:120].mean()), abs=1e-6)
    assert np.flatnonzero(obs[120:240]).tolist() == [18, 42, 66, 90, 114]
    for _ in range(19):
        obs, *_ = env.step(-np.ones(5, dtype=np.float32))
    # A new day: the window is refreshed to days 2..6.
    assert obs[:120] == pytest.approx(prices[24:144], abs=1e-6)


def test_vector_env_steps_like_single_envs() -> None:
    venv = ASUEnv.make_vector(4)
    envs = [ASUEnv() for _ in range(4)]
    obs, _ = venv.reset(seed=0)
    for env in envs:
        env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(60):
        actions = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
        obs, rewards, _, _, infos = venv.step(actions)
        for i, env in enumerate(envs):
            single_obs, reward, _, _, info = env.step(actions[i])
            assert single_obs == pytest.approx(obs[i], abs=1e-6)
            assert reward == pytest.approx(rewards[i], rel=1e-12)
            assert info["cost"] == pytest.approx(infos["cost"][i], rel=1e-12)


def test_published_file_loads_as_it_is_and_matches_the_shipped_copy() -> None:
    assert ASUEnv(config=str(PUBLISHED)).config == ASUConfig()


def test_default_data_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    """Published code bug: data paths were relative to the working directory."""
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert ASUEnv(config=str(SHIPPED)).config == ASUConfig()
    finally:
        os.chdir(cwd)


def test_seed_is_not_global() -> None:
    """Published code: reset(seed) touched nothing, but sibling envs seeded globally."""
    state = np.random.get_state()[1].copy()
    env = ASUEnv()
    env.reset(seed=123)
    env.step(env.action_space.sample())
    assert np.array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"days": 28}, "days"),
        ({"start_day": 25}, "start_day"),
        ({"lookahead_days": 30}, "lookahead_days"),
        ({"IV_i": {"LIN": 3e4, "LOX": 0, "LAR": 0}}, "IV_i"),
        ({"IV_u": {"LIN": -1.0, "LOX": 1, "LAR": 1}}, "IV_u"),
        ({"products": ["LIN", "LOX"]}, "products"),
        ({"fixed_cost": [36, 1]}, "fixed_cost"),
    ],
)
def test_bad_config_names_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ASUEnv(**overrides)


def test_missing_data_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="file not found"):
        ASUEnv(config="no/such/asuenv_config.json")


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    off=st.floats(0.0, 1.0),
    start=st.floats(0.0, 1.0),
)
def test_batched_transition_balances_every_product(seed: int, off: float, start: float) -> None:
    """IV + PQ = IV' + shipped + lost per product, from arbitrary states and weights."""
    dyn = ASUEnv().dynamics
    rng = np.random.default_rng(seed)
    n = 64
    t = rng.integers(0, dyn.horizon, n)
    iv = rng.uniform(0, 1, (n, 3)) * dyn.capacity * start
    w = rng.uniform(0, 1, (n, 5)) * (rng.random((n, 5)) > off)
    tr = dyn.transition({"t": t, "iv": iv}, {"weights": w}, rng)
    total = w.sum(axis=1, keepdims=True)
    pq = np.where(total > 0, w / np.where(total > 0, total, 1), 0) @ dyn.vertices
    due = np.where((t % 24 == 23)[:, None], dyn.daily_demand[t // 24], 0.0)
    shipped = np.minimum(iv + pq, due)
    lost = iv + pq - shipped - tr.state["iv"]
    assert np.all(lost >= -1e-9) and np.all(tr.state["iv"] <= dyn.capacity)
    assert tr.costs["inventory_overflow"] == pytest.approx(lost.sum(axis=1), abs=STOCK_TOL * 3)
    short = (due - shipped).sum(axis=1)
    assert tr.costs["demand_shortfall"] == pytest.approx(20 * short, abs=20 * STOCK_TOL * 3)
    bill = dyn.price[t] * (36 * (total[:, 0] > 0) + 0.24192 * pq.sum(axis=1))
    assert tr.reward == pytest.approx(-bill, rel=1e-12)
    assert np.array_equal(tr.terminated, t + 1 == dyn.horizon)
