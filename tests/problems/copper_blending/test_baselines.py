"""Baselines of Sections 4.1.2 and 4.5 on the default H62 instance."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.policy import evaluate
from stagewise.problems.copper_blending import baselines
from stagewise.problems.copper_blending.env import CopperBlendingEnv


def test_cheapest_single_stage_blend_violates_spec_in_many_draws() -> None:
    env = CopperBlendingEnv()
    result = evaluate(baselines.lp(env), env, episodes=100, seed=0)
    violated = [
        sum(v for k, v in e.costs.items() if k.startswith("spec_")) > 0 for e in result.episodes
    ]
    assert np.mean(violated) > 0.5
    assert all(e.length == 1 for e in result.episodes)


def test_ccp_is_dearer_in_material_but_rarely_penalized() -> None:
    env = CopperBlendingEnv()
    elements = list(env.config.instance.elements)
    rows = {
        name: baselines.cost_row(
            name, evaluate(policy, env, 100, 0), elements, env.config.reward_scale
        )
        for name, policy in (("lp", baselines.lp(env)), ("ccp", baselines.ccp(env)))
    }
    assert rows["ccp"].components["material"] > rows["lp"].components["material"]
    assert rows["ccp"].components["penalty"] < 0.05 * rows["lp"].components["penalty"]
    assert rows["ccp"].components["material"] == pytest.approx(
        env.dynamics.lower_level.solve(0.95, 10.0).material_cost
    )
    rho = baselines.with_rho(list(rows.values()))
    assert rho[1].rho == 1.0 and rho[0].rho > 1.0


def test_tuning_picks_the_cheapest_cell_of_its_grid() -> None:
    env = CopperBlendingEnv()
    fraction, alpha, means = baselines.tune_two_stage(
        env, fractions=(0.4, 0.7), alphas=(0.2, 0.6), episodes=20
    )
    assert len(means) == 4 and means[(fraction, alpha)] == min(means.values())


def test_two_stage_rule_plays_two_stages() -> None:
    env = CopperBlendingEnv()
    result = evaluate(baselines.two_stage(env, 0.6, 0.3), env, episodes=5, seed=0)
    assert all(e.length == 2 for e in result.episodes)
    fixed = baselines.term_costs(result, "fixed", env.config.reward_scale)
    assert np.allclose(fixed, 2 * env.config.instance.C_f)


def test_open_loop_baseline_needs_an_open_loop_environment() -> None:
    with pytest.raises(ValueError, match="feedback='open'"):
        baselines.open_loop(CopperBlendingEnv())
    policy = baselines.open_loop(CopperBlendingEnv(feedback="open"), episodes=3)
    assert policy.name.startswith("open-loop")
