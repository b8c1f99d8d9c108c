"""Unit commitment through the safety layer: min up/down, ramps and dispatch ranges held."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.safety_env import make_safe_env
from tests.problems.safety_checks import projection_is_idempotent, random_run, vector_cost

ENV = "stagewise/UnitCommitment-v0"


def test_random_actions_cost_nothing_but_the_projection() -> None:
    totals = random_run(ENV, steps=72)
    assert totals["plain_cost"] > 0  # the same actions without the layer break constraints
    assert totals["cost"] == 0.0 and totals["violation"] == pytest.approx(0.0, abs=1e-6)
    assert totals["projection"] > 0


def test_the_vector_env_costs_nothing_but_the_projection() -> None:
    assert vector_cost(ENV, num_envs=8, steps=30) == 0.0


def test_projected_decisions_are_fixed_points() -> None:
    assert projection_is_idempotent(ENV, steps=30)


def test_a_start_up_is_cut_to_its_start_up_ramp_by_hand() -> None:
    # Hour 0: unit 0 runs at 300 MW (RU = RD = SD = 300), unit 1 is off with SU = 85 MW and
    # P in [20, 130]. Starting unit 1 at 130 MW is cut to 85 MW; nothing else moves:
    # distance |130 - 85| / 55 (p's half-span).
    env = make_safe_env(ENV)
    env.reset(seed=0)
    proposal = {
        "u": np.array([[1.0, 1.0, 0.0, 0.0, 0.0]]),
        "p": np.array([[455.0, 130.0, 20.0, 20.0, 55.0]]),
    }
    result = env.layer.project(env.base.batch_state, proposal)
    assert result.decision["u"].tolist() == proposal["u"].tolist()
    assert result.decision["p"][0, :2] == pytest.approx([455.0, 85.0])
    assert result.distance == pytest.approx([45.0 / 55.0])
