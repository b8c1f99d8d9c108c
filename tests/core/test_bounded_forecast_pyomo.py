"""The shared repair arithmetic, forecast windows and Pyomo helpers."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from stagewise.core.bounded import clip_with_excess, excess, l0_l2_penalty, truncate_at_capacity
from stagewise.core.forecast import WindowTable, window, window_batched
from stagewise.core.pyomo_tools import plan_from_arrays, resolve_solver, run, var_array


def test_excess_ignores_violations_within_tolerance() -> None:
    assert excess(np.array([1.0, 1.0 + 1e-7, 3.0]), 1.0).tolist() == [0.0, 0.0, 2.0]


def test_clip_with_excess_reports_both_sides() -> None:
    clipped, above, below = clip_with_excess(np.array([-2.0, 0.5, 4.0]), 0.0, 1.0)
    assert clipped.tolist() == [0.0, 0.5, 1.0]
    assert above.tolist() == [0.0, 0.0, 3.0] and below.tolist() == [2.0, 0.0, 0.0]


def test_l0_l2_penalty_and_truncation() -> None:
    assert l0_l2_penalty(np.array([0.0, 2.0]), 10.0, 3.0).tolist() == [0.0, 22.0]
    admitted, overshoot = truncate_at_capacity(np.array([3.0, 1.0]), np.array([4.0, 0.0]), 5.0)
    assert admitted.tolist() == [1.0, 1.0] and overshoot.tolist() == [2.0, 0.0]


def test_window_padding_modes() -> None:
    series = np.arange(1.0, 5.0)  # 1, 2, 3, 4
    t = np.array([0, 3])
    assert window(series, t, 3, "zero").tolist() == [[1, 2, 3], [4, 0, 0]]
    assert window(series, t, 3, "wrap").tolist() == [[1, 2, 3], [4, 1, 2]]
    assert window(series, t, 3, "edge").tolist() == [[1, 2, 3], [4, 4, 4]]
    per_env = np.stack([series, 10 * series])
    assert window_batched(per_env, t, 2, "zero").tolist() == [[1, 2], [40, 0]]
    with pytest.raises(ValueError, match="pad"):
        window(series, t, 2, "mirror")  # type: ignore[arg-type]


@pytest.mark.parametrize("pad", ["zero", "wrap", "edge"])
def test_window_table_reads_the_windows_of_window(pad: str) -> None:
    # Start periods past the end included: the table clips (or wraps) them to its rows.
    series = np.arange(1.0, 9.0).reshape(4, 2)  # 4 periods of 2 values
    t = np.array([0, 1, 3, 4, 5, 9, 12])
    table = WindowTable(series, 3, pad)  # type: ignore[arg-type]
    expected = window(series, t, 3, pad)  # type: ignore[arg-type]
    assert table(t).tobytes() == expected.tobytes() and table(t).shape == expected.shape
    assert table(t[2:3]).tolist() == expected[2:3].tolist()  # a batch of one
    flat = WindowTable(series, 3, pad, transform=lambda w: w.reshape(len(w), -1))  # type: ignore[arg-type]
    assert flat(t).tolist() == expected.reshape(len(t), -1).tolist()


def test_run_reports_reward_units_and_extracts_a_plan() -> None:
    m = pyo.ConcreteModel()
    m.T = pyo.RangeSet(1, 3)
    m.x = pyo.Var(m.T, within=pyo.NonNegativeIntegers, bounds=(0, 4))
    m.c = pyo.Constraint(m.T, rule=lambda _, t: m.x[t] >= t - 0.5)
    m.cost = pyo.Objective(expr=sum(m.x[t] for t in m.T))
    result = run(m, m.cost, None, "highs")
    assert result.status == "optimal" and result.objective == pytest.approx(-6.0)
    assert result.bound == pytest.approx(-6.0) and result.gap == pytest.approx(0.0)
    plan = plan_from_arrays(3, x=var_array(m.x, m.T, integral=True))
    assert [step["x"] for step in plan] == [1.0, 2.0, 3.0]


def test_unknown_solver_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="not available"):
        resolve_solver("no_such_solver", "highs")
