"""Golden optima of the published UC case studies and the replay of the optimal plans."""

from __future__ import annotations

import gymnasium as gym
import pytest

import stagewise  # noqa: F401  (registers the problems)
from stagewise.core.solve import Solution, replay
from stagewise.problems.unit_commitment.model import optimal_policy, solve

PUBLISHED_OPTIMUM = {"v0": -197258.0, "v1": -264104.0}


@pytest.fixture(scope="module", params=["v0", "v1"])
def solved(request: pytest.FixtureRequest) -> tuple[str, Solution]:
    return request.param, solve(variant=request.param)


def test_optimum_matches_the_published_value(solved: tuple[str, Solution]) -> None:
    variant, solution = solved
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(PUBLISHED_OPTIMUM[variant], rel=1e-4)
    assert solution.bound == pytest.approx(solution.objective, rel=1e-6)
    assert solution.solve_time < 60.0
    if variant == "v0":  # the digest's finding: unit 0 alone serves the single bus
        assert all(step["u"].tolist() == [1, 0, 0, 0, 0] for step in solution.plan)


@pytest.mark.parametrize("mode", ["box", "hybrid"])
def test_replaying_the_plan_gives_the_objective_at_zero_cost(
    solved: tuple[str, Solution], mode: str
) -> None:
    variant, solution = solved
    env = gym.make("stagewise/UnitCommitment-v0", variant=variant, action_mode=mode)
    record = replay(env, solution.plan, seed=0)
    assert record.length == 24
    assert abs(record.reward - solution.objective) <= 1e-6 * abs(solution.objective)
    assert record.cost == 0.0


def test_plan_commitments_are_binary(solved: tuple[str, Solution]) -> None:
    _, solution = solved
    for step in solution.plan:
        assert set(step["u"].tolist()) <= {0.0, 1.0}
        assert all(p == 0.0 for p, u in zip(step["p"], step["u"], strict=True) if u == 0)


def test_optimal_policy_factory_replays_the_plan() -> None:
    env = gym.make("stagewise/UnitCommitment-v0")
    policy = optimal_policy(env)
    obs, info = env.reset(seed=0)
    policy.reset(env)
    total = 0.0
    for _ in range(24):
        obs, reward, terminated, _, info = env.step(policy.act(obs, info))
        total += reward
        assert info["cost"] == 0.0
    assert terminated
    assert total == pytest.approx(PUBLISHED_OPTIMUM["v0"], rel=1e-4)


def test_stochastic_demand_has_no_full_space_model() -> None:
    with pytest.raises(ValueError, match="deterministic"):
        solve(model_type="normal")
