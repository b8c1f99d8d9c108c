"""The safety layer on hand-built examples: pass-through, nearest point, least violation."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from stagewise.agents.common.vector import make_vector_env
from stagewise.core.safety import (
    SOLVE_SECONDS,
    ColumnBlock,
    RowBlock,
    SafetyLayer,
    StepBounds,
    StepConstraints,
    step_constraints_of,
)
from stagewise.core.safety_env import SafetyLayerEnv, SafetyVectorEnv, make_safe_env


class Budget(StepConstraints):
    """``x_1 + x_2 <= cap(s)`` on ``x`` in ``[-1, 1]^2``; moving ``x_2`` is half the price."""

    columns = (ColumnBlock("x", (2,), -1.0, 1.0, scale=np.array([1.0, 2.0])),)
    rows = (RowBlock("budget", 1, {"x": np.array([[1.0, 1.0]])}),)

    def bounds(self, state: dict[str, np.ndarray]) -> StepBounds:
        cap = state["cap"][:, None]
        return StepBounds(np.full_like(cap, -np.inf), cap)


class Knapsack(StepConstraints):
    """Whole ``k`` in ``[0, 5]`` with ``2 k + y >= need(s)``, ``y`` in ``[0, 1]`` auxiliary:
    the LP relaxation is fractional, the MILP optimum is known by hand."""

    columns = (
        ColumnBlock("k", (1,), 0.0, 5.0, scale=1.0, integer=True),
        ColumnBlock("y", (1,), 0.0, 1.0),
    )
    rows = (RowBlock("need", 1, {"k": np.array([[2.0]]), "y": np.array([[1.0]])}),)

    def bounds(self, state: dict[str, np.ndarray]) -> StepBounds:
        need = state["need"][:, None]
        return StepBounds(need, np.full_like(need, np.inf))


def test_a_feasible_proposal_passes_through_unchanged() -> None:
    layer = SafetyLayer(Budget())
    proposal = {"x": np.array([[0.25, -0.5], [1.0, -1.0]])}
    result = layer.project({"cap": np.array([1.0, 0.0])}, proposal)
    assert np.array_equal(result.decision["x"], proposal["x"])
    assert np.all(result.distance == 0.0) and np.all(result.violation == 0.0)


def test_an_infeasible_proposal_moves_to_the_nearest_feasible_point() -> None:
    # By hand: from (1, 1) with x1 + x2 <= 0.5, lowering x2 costs 1/2 per unit, x1 costs 1:
    # x = (1, -0.5) at distance 1.5 / 2 = 0.75.
    layer = SafetyLayer(Budget())
    result = layer.project({"cap": np.array([0.5])}, {"x": np.array([[1.0, 1.0]])})
    assert result.decision["x"] == pytest.approx(np.array([[1.0, -0.5]]), abs=1e-9)
    assert result.distance == pytest.approx([0.75])
    assert result.violation == pytest.approx([0.0], abs=1e-9) and result.status == "optimal"


def test_a_batch_projects_each_copy_like_the_single_layer() -> None:
    layer = SafetyLayer(Budget())
    caps = np.array([0.5, 3.0, -1.0, 1.5])
    proposals = np.array([[1.0, 1.0], [0.5, 0.5], [0.0, 0.0], [1.0, 0.9]])
    batch = layer.project({"cap": caps}, {"x": proposals})
    for i in range(4):
        one = layer.project({"cap": caps[i : i + 1]}, {"x": proposals[i : i + 1]})
        assert batch.decision["x"][i] == pytest.approx(one.decision["x"][0], abs=1e-9)


def test_an_infeasible_state_gives_the_least_violating_decision_without_raising() -> None:
    # x1 + x2 <= -3 is out of reach: the closest is (-1, -1), violating by 1.
    layer = SafetyLayer(Budget())
    result = layer.project({"cap": np.array([-3.0])}, {"x": np.array([[0.5, 0.5]])})
    assert result.decision["x"] == pytest.approx(np.array([[-1.0, -1.0]]), abs=1e-9)
    assert result.violation == pytest.approx([1.0])
    assert result.distance == pytest.approx([1.5 + 0.75])


def test_integer_columns_get_the_milp_optimum() -> None:
    # need 5 from 2 k + y (y <= 1): k = 2 is the whole number nearest to 0 that reaches 5.
    layer = SafetyLayer(Knapsack())
    states = {"need": np.array([5.0, 3.0, 20.0])}
    result = layer.project(states, {"k": np.array([[0.0], [4.0], [1.0]])})
    assert result.decision["k"][:, 0].tolist() == [2.0, 4.0, 5.0]
    assert result.violation == pytest.approx([0.0, 0.0, 20.0 - 11.0])
    assert result.distance == pytest.approx([2.0, 0.0, 4.0])


def test_a_long_lived_layer_keeps_solving_past_its_first_second_of_solves() -> None:
    # HiGHS's time_limit counts every run a model has had: with it as the per-solve
    # limit, a layer stopped solving (status time limit, proposal kept) once its model had
    # run for 1 s in all, i.e. after a few thousand steps of a training run.
    layer = SafetyLayer(Budget())
    rng = np.random.default_rng(0)
    proposal = {"x": np.ones((1024, 2))}
    model = layer._model(1024, integer=False)
    while model.highs.getRunTime() < 1.2 * SOLVE_SECONDS:
        caps = rng.uniform(-1.5, 1.5, 1024)  # new bounds: the solve iterates again
        result = layer.project({"cap": caps}, proposal)
        assert result.status == "optimal" and np.all(np.isfinite(result.violation))
    # from (1, 1), x2 (half the price) gives first, down to -1; then x1
    x2 = np.maximum(caps - 1.0, -1.0)
    assert result.decision["x"][:, 1] == pytest.approx(x2, abs=1e-9)
    assert result.decision["x"][:, 0] == pytest.approx(np.minimum(caps - x2, 1.0), abs=1e-9)


def test_the_layer_solves_after_another_highs_user_set_up_the_thread_scheduler() -> None:
    import highspy

    other = highspy.Highs()  # e.g. Pyomo's HiGHS solving the optimum in the same process
    other.setOptionValue("output_flag", False)
    other.setOptionValue("threads", 2)
    other.addVar(0.0, 1.0)
    other.run()
    result = SafetyLayer(Budget()).project({"cap": np.array([0.5])}, {"x": np.array([[1.0, 1.0]])})
    assert result.status == "optimal" and result.distance == pytest.approx([0.75])


def test_bad_constraint_descriptions_are_refused_clearly() -> None:
    class WrongShape(Budget):
        rows = (RowBlock("budget", 1, {"x": np.ones((1, 3))}),)

    class UnknownColumn(Budget):
        rows = (RowBlock("budget", 1, {"z": np.ones((1, 2))}),)

    with pytest.raises(ValueError, match="coefficients of 'x' have shape"):
        SafetyLayer(WrongShape())
    with pytest.raises(ValueError, match="unknown column 'z'"):
        SafetyLayer(UnknownColumn())
    with pytest.raises(ValueError, match="penalty"):
        SafetyLayer(Budget(), penalty=-1.0)


def test_a_problem_without_rows_is_named_in_the_error() -> None:
    import gymnasium as gym

    env = gym.make("stagewise/CapacityExpansion-v0")
    with pytest.raises(ValueError, match="capacity-expansion has no safety-layer rows"):
        step_constraints_of(env.unwrapped)
    with pytest.raises(ValueError, match="no safety-layer rows"):
        SafetyLayerEnv(env)


def test_the_wrapper_reports_projection_cost_and_weighted_reward() -> None:
    env = make_safe_env("stagewise/GTEP-v0", projection_weight=2.0)
    assert env.cost_families[-1] == "projection"
    env.reset(seed=0)
    action = np.ones(env.action_space.shape, dtype=np.float32)  # build everything at once
    _, reward, _, _, info = env.step(action)
    distance = info["safety"]["distance"]
    assert info["costs"]["projection"] == distance
    assert info["reward_terms"]["projection"] == pytest.approx(-2.0 * distance)
    assert reward == pytest.approx(sum(info["reward_terms"].values()))
    assert info["cost"] == pytest.approx(sum(info["costs"].values()))
    with pytest.raises(ValueError, match="projection_weight"):
        make_safe_env("stagewise/GTEP-v0", projection_weight=-1.0)


def test_agents_get_the_native_batched_vector_env() -> None:
    envs = make_vector_env(functools.partial(make_safe_env, "stagewise/InvMgmt-v0"), 4)
    assert isinstance(envs, SafetyVectorEnv) and envs.num_envs == 4
    envs.action_space.seed(0)
    envs.reset(seed=0)
    _, _, _, _, infos = envs.step(envs.action_space.sample())
    assert infos["safety"]["distance"].shape == (4,)
    assert np.allclose(infos["costs"]["projection"], infos["safety"]["distance"])
