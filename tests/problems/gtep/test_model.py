"""Golden optima of the published GTEP case studies and the replay of the optimal plans."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

import stagewise
from stagewise.core.solve import Solution, replay
from stagewise.problems.gtep.model import optimal_policy, solve

CASES = {
    "lines": ({}, -267.7),
    "no-lines": ({"transmission": False}, -330.0),
}
NO_LINES_FILE = Path(stagewise.__file__).parent / "problems/gtep/data/gen_config.json"


@pytest.fixture(scope="module", params=sorted(CASES))
def solved(request: pytest.FixtureRequest) -> tuple[dict, float, Solution]:
    overrides, published = CASES[request.param]
    return overrides, published, solve(**overrides)


def test_optimum_matches_the_published_value(solved: tuple[dict, float, Solution]) -> None:
    _, published, solution = solved
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(published, rel=1e-6)
    assert solution.bound == pytest.approx(published, rel=1e-6)
    assert solution.solve_time < 60.0


def test_replaying_the_plan_gives_the_objective_at_zero_cost(
    solved: tuple[dict, float, Solution],
) -> None:
    overrides, _, solution = solved
    record = replay(gym.make("stagewise/GTEP-v0", **overrides), solution.plan, seed=0)
    assert record.length == 10
    assert abs(record.reward - solution.objective) <= 1e-6 * abs(solution.objective)
    assert record.cost == 0.0


def test_published_no_lines_file_gives_the_no_lines_optimum() -> None:
    assert solve(config=str(NO_LINES_FILE)).objective == pytest.approx(-330.0, rel=1e-6)


def test_optimal_policy_factory_replays_the_plan() -> None:
    env = gym.make("stagewise/GTEP-v0", transmission=False)
    policy = optimal_policy(env)
    obs, info = env.reset(seed=0)
    policy.reset(env)
    total, done = 0.0, False
    while not done:
        obs, reward, done, _, info = env.step(policy.act(obs, info))
        total += reward
        assert info["cost"] == 0.0
    assert total == pytest.approx(-330.0)
