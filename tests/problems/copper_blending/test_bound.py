"""The perfect-information bound: hand-solved blends, draw alignment, and policies above it."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.policy import RandomPolicy, evaluate
from stagewise.problems.copper_blending import baselines
from stagewise.problems.copper_blending.bound import (
    clairvoyant_blend,
    clairvoyant_costs,
    episode_draws,
    solve,
)
from stagewise.problems.copper_blending.config import CopperInstance
from stagewise.problems.copper_blending.env import CopperBlendingEnv

INSTANCE = "5E24M-LH-0"


def two_material_instance(penalty: float) -> CopperInstance:
    """Cu spec 60-65 %: scrap (1,000 cu/t) and cathode (1,700 cu/t), W = 10 t."""
    return CopperInstance(
        name="hand",
        elements=["Cu"],
        lower=[0.60],
        upper=[0.65],
        materials=["scrap", "cathode"],
        level=["H", "pure"],
        mean=[[0.5], [1.0]],
        std=[[0.05], [0.0]],
        price=[1000.0, 1700.0],
        inventory=[10.0, 10.0],
        W=10.0,
        T=2,
        C_e=50.0,
        C_e_star=20.0,
        C_f=300.0,
        C_v=penalty,
        alpha_star=0.95,
    )


# Stage 1 draws 50 % Cu in the scrap, stage 2 only 40 %.
DRAWS = np.array([[[0.5], [1.0]], [[0.4], [1.0]]])


def test_clairvoyant_meets_the_spec_with_the_best_draw_when_penalties_are_dear() -> None:
    # 0.5 a + b = 6 t of Cu and a + b = 10 t: 8 t of the stage-1 scrap and 2 t of cathode.
    blend = clairvoyant_blend(two_material_instance(200_000.0), DRAWS)
    assert blend.material == pytest.approx(8 * 1000 + 2 * 1700)
    assert blend.penalty == pytest.approx(0.0, abs=1e-6)
    assert blend.cost == pytest.approx(300 + 50 * 10 + 11_400)
    assert blend.feed[0] == pytest.approx([8.0, 2.0])
    assert blend.feed[1] == pytest.approx([0.0, 0.0], abs=1e-9)


def test_clairvoyant_pays_the_penalty_when_it_is_cheaper_than_cathode() -> None:
    # A tonne of cathode costs 700 cu more than scrap; dropping it misses 0.05 of Cu
    # fraction per 10 t batch, 250 cu at C_v = 5,000: all scrap, p = 0.5, 0.1 below L.
    blend = clairvoyant_blend(two_material_instance(5_000.0), DRAWS)
    assert blend.material == pytest.approx(10_000.0)
    assert blend.penalty == pytest.approx(5_000.0 * 0.1)
    assert blend.cost == pytest.approx(800 + 10_000 + 500)


def test_draws_of_a_wrong_shape_are_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="draws must have shape"):
        clairvoyant_blend(two_material_instance(1.0), np.zeros((2, 3, 1)))


def test_episode_draws_are_the_draws_the_environment_feeds_with() -> None:
    env = CopperBlendingEnv({"instance": INSTANCE})
    draws = episode_draws(env, seed=5)
    env.reset(seed=5)
    decisions = ({"stop": 0, "alpha": 0.5, "weight": 4.0}, {"stop": 1, "alpha": 0.0, "weight": 0.0})
    feeds = []
    for decision in decisions:
        _, _, terminated, _, info = env.step(env.encode(decision))
        feeds.append(info["state"]["feed"])
    assert terminated
    mass = draws[0].T @ feeds[0] + draws[1].T @ feeds[1]
    assert np.allclose(info["state"]["composition"], mass / info["state"]["weight"])


def test_no_policy_costs_less_than_the_clairvoyant_in_any_episode() -> None:
    env = CopperBlendingEnv({"instance": INSTANCE})
    episodes, scale = 6, env.config.reward_scale
    floor = clairvoyant_costs(env, episodes, seed=0)
    policies = (
        baselines.ccp(env),
        baselines.lp(env),
        baselines.two_stage(env, 0.6, 0.65),
        RandomPolicy(seed=3),
    )
    for policy in policies:
        cost = baselines.total_costs(evaluate(policy, env, episodes, seed=0), scale)
        assert np.all(cost >= floor * (1 - 1e-9)), type(policy).__name__
    # the clairvoyant is strictly cheaper than single-stage CCP on this instance
    ccp_cost = baselines.total_costs(evaluate(baselines.ccp(env), env, episodes, 0), scale)
    assert floor.mean() < 0.9 * ccp_cost.mean()


def test_solve_reports_the_bound_in_reward_units_and_rho_against_ccp() -> None:
    solution = solve({"instance": INSTANCE}, episodes=4, seed=2)
    details = solution.details
    assert solution.status == "bound" and details["episodes"] == 4
    assert solution.bound == pytest.approx(-1e-3 * details["cost_mean"])
    env = CopperBlendingEnv({"instance": INSTANCE})
    assert details["cost_mean"] == pytest.approx(clairvoyant_costs(env, 4, seed=2).mean())
    assert details["rho_bound"] == pytest.approx(details["cost_mean"] / details["ccp_cost"])


def test_solve_rejects_a_non_positive_episode_count() -> None:
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        solve({"instance": INSTANCE}, episodes=0)
