"""InvMgmt dynamics: stock, pipeline, sales timing, costs, demand, and the published-code bugs."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import stagewise
from stagewise.core.config import ConfigError
from stagewise.core.registry import get_problem
from stagewise.problems.inventory.config import InvMgmtConfig, published_demand
from stagewise.problems.inventory.env import InvMgmtEnv
from tests.published import published

PUBLISHED = published("inventory", "supply_chain_config.json")
SHIPPED = Path(stagewise.__file__).parent / "problems/inventory/data/supply_chain_config.json"


def orders(env: InvMgmtEnv, **by_route: float) -> np.ndarray:
    """The action ordering ``by_route`` (``r2_1=30``: 30 units on route (2,1)), else nothing."""
    q = np.zeros(len(env.dynamics.routes))
    for name, amount in by_route.items():
        i, j = (int(x) for x in name[1:].split("_"))
        q[env.dynamics.routes.index((i, j))] = amount
    return env.encode({"order": q})


def test_alias_invmgmt_names_the_inventory_problem() -> None:
    assert get_problem("invmgmt").slug == "inventory"
    assert get_problem("InvMgmt").slug == "inventory"


def test_published_demand_is_the_seed_42_sequence() -> None:
    demand = published_demand()
    assert len(demand) == 30
    assert demand[0] == pytest.approx(30.9934, abs=1e-4)
    assert sum(demand) == pytest.approx(888.71, abs=1e-2)


def test_order_arrives_after_the_lead_time_and_is_shipped_from_the_sender() -> None:
    env = InvMgmtEnv()
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(orders(env, r2_1=30))
    nodes = env.dynamics.nodes
    assert info["state"]["on_hand"][nodes.index(2)] == pytest.approx(90.0, abs=1e-4)
    assert info["state"]["on_hand"][nodes.index(1)] == pytest.approx(100.0)
    assert info["state"]["pipeline"][env.dynamics.routes.index((2, 1)), 0] == pytest.approx(30.0)
    _, _, _, _, info = env.step(orders(env))
    # Period 2: the 30 units arrive; the retailer sells period 1's demand from its opening 100.
    d1 = published_demand()[0]
    assert info["state"]["sales"] == pytest.approx(d1)
    assert info["state"]["on_hand"][nodes.index(1)] == pytest.approx(130.0 - d1, abs=1e-4)


def test_longer_lead_time_keeps_the_order_in_the_pipeline() -> None:
    lead = {"(2,1)": 3}
    env = InvMgmtEnv(lead_times={**InvMgmtConfig().lead_times, **lead})
    env.reset(seed=0)
    route = env.dynamics.routes.index((2, 1))
    _, _, _, _, info = env.step(orders(env, r2_1=20))
    assert info["state"]["pipeline"][route].tolist() == pytest.approx([0.0, 0.0, 20.0], abs=1e-4)
    for expected in ([0.0, 20.0, 0.0], [20.0, 0.0, 0.0], [0.0, 0.0, 0.0]):
        _, _, _, _, info = env.step(orders(env))
        assert info["state"]["pipeline"][route].tolist() == pytest.approx(expected, abs=1e-4)
    assert env.observation_space.shape == (6 + 13 + 2 + 3 + 1,)


def test_shipment_beyond_the_limit_is_cut_and_charged_once() -> None:
    """Published bugs: stock could go negative for free, and env.cost was doubled."""
    env = InvMgmtEnv()
    env.reset(seed=0)
    # Distributor 3 holds 80 and may ship half of it.
    _, _, _, _, info = env.step(orders(env, r3_1=100))
    assert info["costs"]["shipment"] == pytest.approx(10 * 60, abs=1e-3)
    assert info["cost"] == pytest.approx(sum(info["costs"].values()))
    assert info["state"]["on_hand"][env.dynamics.nodes.index(3)] == pytest.approx(40, abs=1e-4)
    assert info["state"]["pipeline"][env.dynamics.routes.index((3, 1)), 0] == pytest.approx(40)


def test_stock_above_capacity_is_charged_and_lost() -> None:
    """Published bug: the observation-bound penalties never fired."""
    env = InvMgmtEnv(inv_capacity={1: 110, 2: 300, 3: 300, 4: 500, 5: 500, 6: 400})
    env.reset(seed=0)
    env.step(orders(env, r2_1=50))
    _, _, _, _, info = env.step(orders(env))
    over = 100 + 50 - published_demand()[0] - 110
    assert info["costs"]["on_hand"] == pytest.approx(10 * over, abs=1e-3)
    assert info["state"]["on_hand"][0] == pytest.approx(110.0)


def test_trivial_policy_no_longer_beats_the_optimum() -> None:
    """Published bug: with negative stock allowed, 'retailer orders 30/day from distributor 2'
    earned 13072.74 at zero cost, above the published optimum 11265.97."""
    env = InvMgmtEnv()
    env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        _, reward, done, _, info = env.step(orders(env, r2_1=30))
        total += reward
        assert np.all(info["state"]["on_hand"] >= 0.0)
    assert total < 11265.97


@pytest.mark.parametrize("demand", ["published", "stochastic"])
def test_random_orders_conserve_stock(demand: str) -> None:
    env = gym.make("stagewise/InvMgmt-v0", demand=demand)
    dyn = env.unwrapped.dynamics
    raw = np.array([i in env.unwrapped.config.suppliers for i, _ in dyn.routes])
    env.action_space.seed(3)
    _, info = env.reset(seed=3)
    for _ in range(60):
        action = env.action_space.sample()
        before = info["state"]
        bought = env.unwrapped.decode(action)["order"][raw].sum()
        _, reward, done, _, info = env.step(action)
        after = info["state"]
        assert np.all(after["on_hand"] >= 0.0)
        assert np.all(after["on_hand"] <= dyn.capacity + 1e-9)
        lost = info["costs"]["on_hand"] / 10.0
        total_before = before["on_hand"].sum() + before["pipeline"].sum()
        total_after = after["on_hand"].sum() + after["pipeline"].sum()
        assert total_after == pytest.approx(total_before + bought - after["sales"] - lost, abs=1e-3)
        owed = before["backlog"] + before["pending"]
        assert after["backlog"] == pytest.approx(owed - after["sales"])
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
        if done:
            _, info = env.reset(seed=4)


def test_stochastic_demand_comes_from_the_env_generator() -> None:
    env = InvMgmtEnv(demand="stochastic")
    state = np.random.get_state()
    env.reset(seed=1)
    first = env.episode_demand()
    env.reset(seed=1)
    assert np.array_equal(env.episode_demand(), first)
    env.reset(seed=2)
    assert not np.array_equal(env.episode_demand(), first)
    assert abs(first.mean() - 30.0) < 2.0
    assert np.array_equal(np.random.get_state()[1], state[1])  # no global seeding


def test_published_demand_is_the_same_every_episode() -> None:
    env = InvMgmtEnv()
    env.reset(seed=1)
    first = env.episode_demand()
    env.reset(seed=2)
    assert np.array_equal(env.episode_demand(), first)
    assert first.tolist() == list(published_demand())


def test_published_file_loads_as_it_is_and_matches_the_shipped_copy() -> None:
    assert InvMgmtEnv(config=str(PUBLISHED)).config == InvMgmtConfig()


def test_default_data_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert InvMgmtEnv(config=str(SHIPPED)).config == InvMgmtConfig()
    finally:
        os.chdir(cwd)


def test_bad_input_is_named() -> None:
    with pytest.raises(ConfigError, match="inv_capacity"):
        InvMgmtEnv(inv_capacity={1: -5, 2: 300, 3: 300, 4: 500, 5: 500, 6: 400})
    with pytest.raises(ConfigError, match="demand"):
        InvMgmtEnv(demand=[30.0] * 5)
    with pytest.raises(ConfigError, match="lead_times"):
        InvMgmtEnv(lead_times={"(2,1)": 0})
    env = InvMgmtEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.full(env.action_space.shape, np.nan, dtype=np.float32))
