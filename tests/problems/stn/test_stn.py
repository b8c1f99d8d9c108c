"""STN: the (task, unit) action space, processing times per output, optima and replay."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from stagewise.core.config import ConfigError
from stagewise.core.policy import run_episode
from stagewise.core.solve import Solution, replay
from stagewise.problems.stn.config import STNConfig
from stagewise.problems.stn.env import STNEnv
from stagewise.problems.stn.model import mpc_policy, optimal_policy, solve

HARD, EASY = 363.9401722, 59.7944139
RNG = np.random.default_rng(0)
CASES = {
    "hard": ({}, HARD),
    "hard-published-decoding": ({"decoding": "published"}, HARD),
    "easy": ({"case": "easy"}, EASY),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def solved(request: pytest.FixtureRequest) -> tuple[dict, float, Solution]:
    overrides, golden = CASES[request.param]
    return overrides, golden, solve(**overrides)


def test_optimum_is_the_physically_correct_value(solved: tuple[dict, float, Solution]) -> None:
    _, golden, solution = solved
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(golden, rel=1e-6)
    assert solution.bound == pytest.approx(golden, rel=1e-6)
    assert solution.solve_time < 60.0


def test_replaying_the_plan_gives_the_objective_at_zero_cost(
    solved: tuple[dict, float, Solution],
) -> None:
    overrides, _, solution = solved
    env = gym.make("stagewise/STN-v0", **overrides)
    record = replay(env, solution.plan, seed=0)
    assert record.length == env.unwrapped.horizon
    assert abs(record.reward - solution.objective) <= 1e-6 * abs(solution.objective)
    assert record.cost == 0.0


def test_the_model_from_a_reached_state_has_the_remaining_optimal_value() -> None:
    full = solve()
    env = gym.make("stagewise/STN-v0")
    env.reset(seed=0)
    earned = 0.0
    for t in range(17):
        _, reward, *_, info = env.step(env.unwrapped.encode(full.plan[t]))
        earned += reward
    rest = solve(state=info["state"])
    assert rest.objective == pytest.approx(full.objective - earned, rel=1e-6)


def test_default_action_has_one_entry_per_feasible_pair() -> None:
    env = STNEnv()
    assert env.action_space.shape == (3,)
    assert env.dynamics.network.pairs == (
        "task_1@equipment_3",
        "task_2@equipment_1",
        "task_3@equipment_2",
    )


def test_published_decoding_keeps_the_full_task_by_unit_matrix() -> None:
    env = STNEnv(decoding="published")
    nw = env.dynamics.network
    assert env.action_space.shape == (9,)
    assert np.flatnonzero(nw.active).tolist() == [2, 3, 7]  # row-major task x unit
    # Infeasible pairs are inert: asking them for anything changes nothing and costs nothing.
    idle = np.zeros(9, dtype=np.float32)
    loud = np.where(nw.active, 0.0, 1.0).astype(np.float32)
    env.reset(seed=0)
    _, r_idle, *_, i_idle = env.step(idle)
    env.reset(seed=0)
    _, r_loud, *_, i_loud = env.step(loud)
    assert r_loud == r_idle and i_loud["cost"] == i_idle["cost"] == 0.0
    assert np.array_equal(i_loud["state"]["X"], i_idle["state"]["X"])


def _with_task_2_times(p1: int, p2: int) -> dict[str, Any]:
    task = STNConfig().tasks["task_2"].model_dump()
    task["p"] = {"product_1": p1, "product_2": p2}
    return {"tasks": {**STNConfig().model_dump()["tasks"], "task_2": task}}


def test_each_output_arrives_after_its_own_processing_time() -> None:
    d = STNEnv(**_with_task_2_times(1, 3)).dynamics
    nw = d.network
    p1, p2 = nw.materials.index("product_1"), nw.materials.index("product_2")
    s = d.initial_state(RNG, 1)
    s["X"][0, nw.materials.index("intermediate_1")] = 60.0
    batches = [np.array([[0.0, 60.0, 0.0]]), np.zeros((1, 3)), np.zeros((1, 3))]
    seen = []
    for batch in batches:
        tr = d.transition(s, {"batch": batch}, RNG)
        s = tr.state
        seen.append((s["X"][0, p1], s["X"][0, p2], s["E"][0, 0]))
    # product_1 after 1 period, product_2 after 3; the unit is held for the longest, 3.
    assert seen[0] == pytest.approx((20.0, 0.0, 0.0))
    assert seen[1] == pytest.approx((20.0, 0.0, 0.0))
    assert seen[2] == pytest.approx((20.0, 40.0, 1.0))


def test_the_model_honours_processing_times_per_output() -> None:
    overrides = _with_task_2_times(1, 3)
    solution = solve(**overrides)
    record = replay(gym.make("stagewise/STN-v0", **overrides), solution.plan, seed=0)
    assert record.reward == pytest.approx(solution.objective, rel=1e-6)
    assert record.cost == 0.0


def test_policies_run_from_the_registry() -> None:
    env = gym.make("stagewise/STN-v0", case="easy")
    assert run_episode(optimal_policy(env), env, seed=0).reward == pytest.approx(EASY, rel=1e-6)
    record = run_episode(mpc_policy(env, horizon=3), env, seed=0)
    assert record.cost == 0.0 and record.reward <= EASY + 1e-6


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Vmin": {"equipment_9": 1.0}, "Vmax": {"equipment_9": 2.0}}, "equipments"),
        ({"Vmin": {"equipment_1": 1.0}, "Vmax": {"equipment_2": 2.0}}, "tasks"),
        ({"p": {"product_1": 2}}, "tasks"),
        ({"p": {"product_1": 0, "product_2": 2}}, "tasks"),
    ],
)
def test_bad_task_fields_raise_config_error(change: dict, field: str) -> None:
    tasks = STNConfig().model_dump()["tasks"]
    tasks["task_2"] = {**tasks["task_2"], **change}
    with pytest.raises(ConfigError, match=field):
        STNEnv(tasks=tasks)
