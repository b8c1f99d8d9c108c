"""Blending dynamics: repairs per strategy, in-out rule, properties, published-code facts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import stagewise
from stagewise.core.config import ConfigError
from stagewise.problems.blending.config import BlendingConfig
from stagewise.problems.blending.env import BlendingEnv
from tests.published import PUBLISHED_CONFIGS

SHARED = PUBLISHED_CONFIGS / "blending"
SRC = Path(stagewise.__file__).resolve().parents[1]


def decision(env: BlendingEnv, **parts: dict) -> dict:
    """A decision of zeros with ``parts`` set, e.g. ``flow_sj={("s1", "j1"): 5.0}``."""
    dyn, cfg = env.dynamics, env.config
    names = {
        "flow_sj": dyn.source_arcs,
        "flow_jp": dyn.product_arcs,
        "buy": cfg.sources,
        "sell": cfg.products,
    }
    out = {key: np.zeros(len(keys)) for key, keys in names.items()}
    for key, values in parts.items():
        for name, value in values.items():
            out[key][names[key].index(name)] = value
    return out


def episode(strategy: str, action_value: float) -> tuple[float, float]:
    env = gym.make("stagewise/Blending-v0", illegal_act_handling=strategy)
    env.reset(seed=0)
    reward = cost = 0.0
    done = False
    while not done:
        action = np.full(env.action_space.shape, action_value, dtype=np.float32)
        _, r, done, _, info = env.step(action)
        reward, cost = reward + r, cost + info["cost"]
    return reward, cost


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("prop", (675.0, 42570.0)), ("disable", (0.0, 55640.0)), ("none", (900.0, 36820.0))],
)
def test_constant_actions_reproduce_the_published_execution_facts(
    strategy: str, expected: tuple[float, float]
) -> None:
    """Published: all -1 gives 0/0; all 0 gives 675/42530 (prop), 0/55640 (disable) and
    900/36820 (none). prop differs by 40: the published code checks a blender's property
    after it has emptied itself (0, always in spec); we check the property shipped."""
    assert episode(strategy, -1.0) == (0.0, 0.0)
    reward, cost = episode(strategy, 0.0)
    assert (reward, cost) == pytest.approx(expected)


def test_in_out_rule_per_strategy() -> None:
    for strategy, shipped in (("prop", 0.0), ("disable", 0.0), ("none", 5.0)):
        env = BlendingEnv(illegal_act_handling=strategy)
        env.reset(seed=0)
        env.step(env.encode(decision(env, flow_sj={("s1", "j1"): 10.0}, buy={"s1": 1.0})))
        d = decision(env, flow_sj={("s2", "j1"): 10.0}, flow_jp={("j1", "p1"): 5.0}, buy={"s2": 1})
        _, _, _, _, info = env.step(env.encode(d))
        assert info["costs"]["in_out"] == 10.0
        assert info["state"]["I_p"][0] == pytest.approx(shipped, abs=1e-4)


def test_properties_mix_by_volume_and_ship_at_the_blenders_property() -> None:
    env = BlendingEnv()
    env.reset(seed=0)
    d = decision(
        env,
        flow_sj={("s1", "j1"): 10.0, ("s2", "j1"): 10.0},
        buy={"s1": 1.0, "s2": 1.0 / 3.0},
    )
    _, _, _, _, info = env.step(env.encode(d))
    assert info["state"]["C"][0] == pytest.approx([0.16, 0.30], abs=1e-5)
    assert info["cost"] == 0.0
    # q2 = 0.30 is within p1's spec, q1 = 0.16 on its upper edge: no property cost.
    _, _, _, _, info = env.step(env.encode(decision(env, flow_jp={("j1", "p1"): 8.0})))
    assert info["costs"]["property"] == 0.0
    assert info["state"]["C"][0] == pytest.approx([0.16, 0.30], abs=1e-5)
    assert info["state"]["I_j"][0] == pytest.approx(12.0, abs=1e-4)


def test_off_spec_shipment_costs_Q_per_property() -> None:
    env = BlendingEnv()
    env.reset(seed=0)
    env.step(env.encode(decision(env, flow_sj={("s2", "j1"): 20.0}, buy={"s2": 1.0})))
    # Pure s2 (q1 0.26 > 0.16) into p1, and emptying the blender does not hide it.
    _, _, _, _, info = env.step(env.encode(decision(env, flow_jp={("j1", "p1"): 20.0})))
    assert info["costs"]["property"] == 10.0
    assert info["state"]["C"][0].tolist() == [0.0, 0.0]


def test_source_overdraw_is_scaled_under_prop_and_dropped_under_disable() -> None:
    for strategy, into_j1 in (("prop", 10.0), ("disable", 0.0), ("none", 30.0)):
        env = BlendingEnv(illegal_act_handling=strategy)
        env.reset(seed=0)
        d = decision(env, flow_sj={("s1", "j1"): 30.0}, buy={"s1": 1.0})
        _, _, _, _, info = env.step(env.encode(d))
        assert info["costs"]["source_bound"] == pytest.approx(10 * (1 + 20), abs=1e-3)
        assert info["state"]["I_j"][0] == pytest.approx(into_j1, abs=1e-4)
        assert info["state"]["I_s"][0] == pytest.approx(0.0 if strategy != "disable" else 10.0)


def test_random_small_actions_balance_mass_and_keep_properties_in_the_hull() -> None:
    env = gym.make("stagewise/Blending-v0")
    dyn = env.unwrapped.dynamics
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    checked = 0
    n_sj, n_jp = len(dyn.source_arcs), len(dyn.product_arcs)
    for step in range(60):
        # Alternate receiving and shipping periods, with small flows.
        action = rng.uniform(-1.0, -0.97, size=env.action_space.shape)
        action[n_sj + n_jp :] = [*rng.uniform(0.0, 1.0, size=2), *rng.uniform(-1, -0.95, size=2)]
        action[:n_sj] = -1.0 if step % 2 else action[:n_sj]
        action[n_sj : n_sj + n_jp] = action[n_sj : n_sj + n_jp] if step % 2 else -1.0
        action = action.astype(np.float32)
        d = env.unwrapped.decode(action)
        before = info["state"]
        _, _, done, _, info = env.step(action)
        after = info["state"]
        bounds = ("source_bound", "blender_bound", "product_bound")
        if all(info["costs"][f] == 0.0 for f in bounds):
            bought = (d["buy"] * before["tau0"]).sum()
            sold = (d["sell"] * before["delta0"]).sum()
            mass = lambda s: s["I_s"].sum() + s["I_j"].sum() + s["I_p"].sum()  # noqa: E731
            assert mass(after) == pytest.approx(mass(before) + bought - sold, abs=1e-6)
            checked += 1
        filled = after["I_j"] > 1e-3
        assert np.all(after["C"][filled] >= dyn.sigma.min(axis=0) - 1e-9)
        assert np.all(after["C"][filled] <= dyn.sigma.max(axis=0) + 1e-9)
        if done:
            _, info = env.reset(seed=1)
    assert checked > 10


def test_observation_order_is_fixed_and_follows_the_config() -> None:
    """Published bug: the blender/product order of the observation came from a set."""
    env = BlendingEnv()
    env.reset(seed=0)
    obs, *_ = env.step(env.encode(decision(env, flow_sj={("s1", "j2"): 6.0}, buy={"s1": 0.6})))
    blenders = obs[2:6]
    assert blenders.tolist() == pytest.approx([0.0, 6.0 / 30.0, 0.0, 0.0], abs=1e-5)
    assert obs[8 + 2 : 8 + 4].tolist() == pytest.approx([0.06 / 0.26, 0.10 / 0.50], abs=1e-6)
    code = (
        "import numpy as np, stagewise, gymnasium as gym\n"
        "env = gym.make('stagewise/Blending-v0'); env.reset(seed=0)\n"
        "obs = env.step(np.linspace(-1, 1, 20, dtype=np.float32))[0]\n"
        "print(list(map(float, obs)))\n"
    )
    runs = set()
    for seed in ("0", "1"):
        env_vars = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(SRC)}
        out = subprocess.run([sys.executable, "-c", code], env=env_vars, capture_output=True)
        runs.add(out.stdout.decode().strip())
    assert len(runs) == 1 and runs.pop().startswith("[")


def test_spaces_of_both_instances() -> None:
    assert BlendingEnv().action_space.shape == (20,)
    assert BlendingEnv().observation_space.shape == (25,)
    large = BlendingEnv(instance="large")
    assert large.action_space.shape == (8 * 16 + 16 * 8 + 8 + 8,)
    assert large.observation_space.shape == (8 + 16 + 8 + 32 + 16 * 2 + 1,)
    assert large.config.illegal_act_handling == "disable"


def test_flow_limit_is_the_instances_own_total_availability() -> None:
    """Published bug: F^max came from the Table-1 defaults (120) for every config."""
    assert BlendingEnv().dynamics.flow_max == 120.0
    assert BlendingEnv(instance="large").dynamics.flow_max == 573.0
    assert BlendingEnv(instance="large", max_flow=50.0).codec.high[0] == 50.0


@pytest.mark.parametrize(
    ("name", "strategy"),
    [("prop", "prop"), ("disable", "disable"), ("no", "none")],
)
def test_published_strategy_files_load_as_they_are(name: str, strategy: str) -> None:
    path = SHARED / f"Blending_{name}_config.json"
    assert path.is_file(), f"{path} is missing from tests/data"
    cfg = BlendingEnv(config=str(path)).config
    assert cfg.illegal_act_handling == strategy
    assert cfg.model_dump(exclude={"illegal_act_handling"}) == BlendingConfig().model_dump(
        exclude={"illegal_act_handling"}
    )


def test_published_large_file_loads_from_its_own_directory_path(tmp_path: Path) -> None:
    path = SHARED / "large_config.json"
    assert path.is_file(), f"{path} is missing from tests/data"
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # its connections_file path is relative to the published repository
        cfg = BlendingEnv(config=str(path)).config
    finally:
        os.chdir(cwd)
    assert cfg.model_dump(exclude={"instance"}) == BlendingConfig(instance="large").model_dump(
        exclude={"instance"}
    )


def test_bad_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="b_inv_ub"):
        BlendingEnv(b_inv_ub={"j1": -1, "j2": 30, "j3": 30, "j4": 30})
    with pytest.raises(ConfigError, match="blend_blend"):
        connections = json.loads(json.dumps(BlendingConfig().connections.model_dump()))
        connections["blend_blend"] = {"j1": ["j2"]}
        BlendingEnv(connections=connections)
    with pytest.raises(ConfigError, match="connections_file"):
        BlendingEnv(config={"connections_file": str(tmp_path / "missing.json")})
    with pytest.raises(ConfigError, match="illegal_act_handling"):
        BlendingEnv(illegal_act_handling="clip")
    env = BlendingEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.full(20, np.inf, dtype=np.float32))
