"""SchedMaint dynamics: repairs in the published order, each penalty, v1 draws, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from stagewise.core.config import ConfigError
from stagewise.problems.sched_maint.config import SchedMaintConfig
from stagewise.problems.sched_maint.env import SchedMaintEnv
from tests.published import published

CAP = np.array([520.0, 250.0, 150.0])


def decision(maintain: list[int], production: list[float], purchase: float = 0.0) -> dict:
    return {
        "maintain": np.array(maintain, dtype=float),
        "production": np.array(production, dtype=float),
        "purchase": np.array(purchase),
    }


def test_spaces_have_the_papers_dimensions() -> None:
    env = SchedMaintEnv()
    assert env.observation_space.shape == (69,)  # 2 S + 3 n
    assert env.action_space.shape == (7,)
    assert env.codec.modes == ("box", "hybrid")


def test_a_day_of_production_costs_its_electricity_and_meets_demand() -> None:
    env = SchedMaintEnv()
    env.reset(seed=0)
    cfg = env.config
    # Day 0 demand 701.3: C1 full, C2 the rest.
    d = decision([0, 0, 0], [520.0, cfg.demand[0] - 520.0, 0.0])
    _, reward, _, _, info = env.step(env.encode(d))
    spen = np.array([450, 510, 400]) / 750
    expected = -(d["production"] * spen).sum() * cfg.electricity_prices[0]
    assert reward == pytest.approx(expected, rel=1e-6)
    assert info["cost"] == 0.0
    assert info["state"]["tslm"].tolist() == [16, 11, 1]
    assert info["state"]["cdm"].tolist() == [1, 1, 0]


def test_demand_gap_counts_purchases_and_has_a_dead_band() -> None:
    """Published code: supply includes purchases (the paper's formula omits them); gaps
    within 10 t are free, beyond that the whole gap costs 0.5 per t."""
    env = SchedMaintEnv()
    env.reset(seed=0)
    need = env.config.demand[0]
    *_, info = env.step(env.encode(decision([0, 0, 0], [400.0, 0.0, 0.0], need - 400.0 - 9.0)))
    assert info["costs"]["demand"] == 0.0
    env.reset(seed=0)
    *_, info = env.step(env.encode(decision([0, 0, 0], [400.0, 0.0, 0.0], need - 400.0 - 30.0)))
    assert info["costs"]["demand"] == pytest.approx(0.5 * 30.0, rel=1e-5)


def test_early_maintenance_is_charged_positive_and_refused() -> None:
    """Paper typo: C_EM carries a minus sign; the cost is +75 tslm."""
    env = SchedMaintEnv()
    env.reset(seed=0)
    env.step(env.encode(decision([0, 0, 0], [520.0, 0.0, 150.0])))  # C3: tslm 1, cdm 0
    _, _, _, _, info = env.step(env.encode(decision([0, 0, 1], [520.0, 250.0, 100.0])))
    assert info["costs"]["early_maintenance"] == pytest.approx(75 * 1)
    assert info["costs"]["ramping_in_maintenance"] == pytest.approx(0.1 * 100)
    # Refused: no maintenance (tslm counts on), and no production of what was asked.
    assert info["state"]["tslm"][2] == 2
    assert info["reward_terms"]["electricity"] == pytest.approx(
        -(520 * 450 + 250 * 510) / 750 * env.config.electricity_prices[1], rel=1e-6
    )


def test_maintenance_is_forced_at_mttf_and_running_on_costs_failure() -> None:
    env = SchedMaintEnv()
    env.reset(seed=0)
    for _ in range(3):  # C1: tslm 15 -> 18 = MTTF
        *_, info = env.step(env.encode(decision([0, 0, 0], [520.0, 250.0, 0.0])))
    assert info["state"]["tslm"][0] == 18
    _, _, _, _, info = env.step(env.encode(decision([0, 0, 0], [520.0, 250.0, 150.0])))
    assert info["costs"]["maintenance_failure"] == pytest.approx(100.0)
    assert info["state"]["tslm"][0] == 0  # forced maintenance
    assert info["state"]["cdm"][0] == 0
    assert info["reward_terms"]["electricity"] == pytest.approx(
        -(250 * 510 + 150 * 400) / 750 * env.config.electricity_prices[3], rel=1e-6
    )


def test_maintaining_twice_in_a_row_costs_duration() -> None:
    env = SchedMaintEnv()
    env.reset(seed=0)
    env.step(env.encode(decision([1, 0, 0], [0.0, 250.0, 150.0], 300.0)))
    _, _, _, _, info = env.step(env.encode(decision([1, 0, 0], [0.0, 250.0, 150.0], 400.0)))
    assert info["costs"]["maintenance_duration"] == pytest.approx(50.0)
    assert info["costs"]["early_maintenance"] == 0.0  # 75 x tslm 0


def test_interrupting_a_multi_day_repair_costs_and_is_refused() -> None:
    comps = [c.model_dump() for c in SchedMaintConfig().compressors]
    comps[0]["mttr"] = 3
    env = SchedMaintEnv(compressors=comps)
    env.reset(seed=0)
    *_, info = env.step(env.encode(decision([1, 0, 0], [0.0, 250.0, 150.0], 300.0)))
    assert info["state"]["tlcm"][0] == 2
    *_, info = env.step(env.encode(decision([0, 0, 0], [520.0, 250.0, 150.0])))
    assert info["costs"]["maintenance_duration"] == pytest.approx(50 * np.exp(2))
    assert info["state"]["tlcm"][0] == 1 and info["state"]["tslm"][0] == 0
    *_, info = env.step(env.encode(decision([1, 0, 0], [0.0, 250.0, 150.0], 400.0)))
    assert info["costs"]["maintenance_duration"] == 0.0
    assert info["state"]["tlcm"][0] == 0
    *_, info = env.step(env.encode(decision([0, 0, 0], [520.0, 250.0, 150.0])))
    assert info["state"]["tslm"][0] == 1  # the repair took exactly MTTR = 3 days


def test_random_actions_keep_supply_and_clock_rules() -> None:
    env = gym.make("stagewise/SchedMaint-v0")
    dyn = env.unwrapped.dynamics
    env.action_space.seed(5)
    _, info = env.reset(seed=5)
    for _ in range(80):
        action = env.action_space.sample()
        d = env.unwrapped.decode(action)
        before = info["state"]
        _, reward, done, _, info = env.step(action)
        s = info["state"]
        maintained = s["tslm"] == 0
        assert np.all(s["tslm"][~maintained] == before["tslm"][~maintained] + 1)
        assert np.all(s["tlcm"] >= 0) and np.all(s["tlcm"] <= dyn.mttr - 1)
        assert np.array_equal(s["cdm"], (s["tslm"] >= dyn.mnrd).astype(float))
        # Supply is what is produced (nothing on a maintenance day) plus purchases.
        produced = np.where(maintained | (before["tslm"] >= before["mttf"]), 0, d["production"])
        produced = np.where(d["maintain"] > 0, 0, produced)
        gap = abs(before["demand_today"] - produced.sum() - d["purchase"])
        assert info["costs"]["demand"] == pytest.approx(0.5 * gap if gap > 10.001 else 0.0)
        assert reward == pytest.approx(sum(info["reward_terms"].values()))
        if done:
            _, info = env.reset(seed=6)


def test_v0_is_deterministic_and_v1_draws_mttf_per_seed() -> None:
    assert SchedMaintEnv().reset(seed=1)[1]["state"]["mttf"].tolist() == [18, 20, 24]
    env = SchedMaintEnv(variant="v1")
    draws = {tuple(env.reset(seed=s)[1]["state"]["mttf"]) for s in range(30)}
    assert len(draws) > 5
    for mttf in draws:
        assert all(n - 2 <= m <= n for m, n in zip(mttf, (18, 20, 24), strict=True))
    first = env.reset(seed=7)[1]["state"]["mttf"]
    assert np.array_equal(env.reset(seed=7)[1]["state"]["mttf"], first)


def test_published_file_loads_as_it_is_and_matches_the_default() -> None:
    path = published("sched_maint", "gasu_config.json")
    cfg = SchedMaintEnv(config=str(path)).config
    assert cfg == SchedMaintConfig()
    assert cfg.alpha_ext == pytest.approx(0.100830, abs=1e-6)
    assert cfg.q_ext == 520.0


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="demand"):
        SchedMaintEnv(demand=[500.0] * 40)
    with pytest.raises(ConfigError, match="capacity"):
        comps = [c.model_dump() for c in SchedMaintConfig().compressors]
        comps[1]["capacity"] = -1.0
        SchedMaintEnv(compressors=comps)
    with pytest.raises(ConfigError, match="window_days"):
        SchedMaintEnv(window_days=0)


def test_nan_action_is_a_value_error() -> None:
    env = SchedMaintEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="SchedMaint"):
        env.step(np.full(7, np.inf, dtype=np.float32))


def test_repair_ends_after_mttr_days_even_when_mnrd_is_zero() -> None:
    """Published update: tlcm reset to MTTR - 1 whenever cdm = 1, so with MNRD = 0 a repair
    restarted every day and never ended."""
    comps = [c.model_dump() for c in SchedMaintConfig().compressors]
    comps[0].update(mttr=2, mntr=0)
    env = SchedMaintEnv(compressors=comps)
    env.reset(seed=0)
    *_, info = env.step(env.encode(decision([1, 0, 0], [0.0, 250.0, 150.0], 300.0)))
    assert info["state"]["tlcm"][0] == 1 and info["state"]["cdm"][0] == 1
    *_, info = env.step(env.encode(decision([1, 0, 0], [0.0, 250.0, 150.0], 400.0)))
    assert info["state"]["tlcm"][0] == 0
    assert info["costs"]["maintenance_duration"] == 0.0
    *_, info = env.step(env.encode(decision([0, 0, 0], [520.0, 250.0, 150.0])))
    assert info["state"]["tslm"][0] == 1 and info["state"]["tlcm"][0] == 0
