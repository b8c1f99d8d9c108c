"""The persistent window model of rolling-horizon control (stagewise.core.mpc.WindowModel)."""

import numpy as np
import pyomo.environ as pyo
import pytest

from stagewise.core.mpc import WindowModel


def stock_model(length: int = 4) -> tuple[WindowModel, pyo.ConcreteModel]:
    """Order ``x_k`` at price ``c_k`` to keep stock ``s_k = s_{k-1} + x_k - d_k >= 0``."""
    m = pyo.ConcreteModel()
    m.K = pyo.RangeSet(0, length - 1)
    m.s0 = pyo.Var()
    m.d = pyo.Var(m.K)
    m.x = pyo.Var(m.K, within=pyo.NonNegativeIntegers, bounds=(0, 10))
    m.s = pyo.Var(m.K, within=pyo.NonNegativeReals)
    m.balance = pyo.Constraint(
        m.K, rule=lambda _, k: m.s[k] == (m.s[k - 1] if k else m.s0) + m.x[k] - m.d[k]
    )
    m.cost = pyo.Objective(expr=sum(m.x[k] + 0.1 * m.s[k] for k in m.K))
    return WindowModel(m, m.K, [m.s0, m.d]), m


def test_parameters_periods_and_costs_change_without_a_rebuild():
    wm, m = stock_model()
    d, x, s0 = wm.cols(m.d, m.K), wm.cols(m.x, m.K), wm.cols(m.s0, [None])
    wm.set_params(s0, [1.0])
    wm.set_params(d, [2.0, 3.0, 1.0, 4.0])
    wm.set_periods(4)
    status, sol, objective = wm.solve()
    assert status == "optimal"
    assert np.allclose(sol[x], [1.0, 3.0, 1.0, 4.0]) and objective == pytest.approx(9.0)
    # Two periods planned: the others neither cost nor constrain.
    wm.set_periods(2)
    _, sol, objective = wm.solve()
    assert np.allclose(sol[x], [1.0, 3.0, 0.0, 0.0]) and objective == pytest.approx(4.0)
    # Dearer now than later: buy later.
    wm.set_costs(x, [5.0, 1.0, 1.0, 1.0])
    _, sol, _ = wm.solve()
    assert np.allclose(sol[x[:2]], [1.0, 3.0])
    wm.set_params(s0, [5.0])
    _, sol, objective = wm.solve()
    assert np.allclose(sol[x[:2]], [0.0, 0.0]) and objective == pytest.approx(0.1 * (3 + 0))


def test_bad_use_is_named():
    wm, m = stock_model()
    with pytest.raises(ValueError, match="no parameter"):
        wm.set_params(wm.cols(m.x, m.K), np.zeros(4))
    with pytest.raises(ValueError, match="planned periods"):
        wm.set_periods(5)


def test_as_lp_solves_the_relaxation_and_the_next_solve_is_a_milp_again():
    wm, m = stock_model(2)
    d, x, s0 = wm.cols(m.d, m.K), wm.cols(m.x, m.K), wm.cols(m.s0, [None])
    wm.set_params(s0, [0.0])
    wm.set_params(d, [1.5, 0.0])
    wm.set_periods(2)
    _, sol, objective = wm.solve(as_lp=True)
    assert np.allclose(sol[x], [1.5, 0.0]) and objective == pytest.approx(1.5)
    assert wm.dual_bound == pytest.approx(1.5)
    _, sol, objective = wm.solve()
    assert np.allclose(sol[x], [2.0, 0.0]) and objective == pytest.approx(2.1)
    # Integer columns fixed: the LP is the MILP.
    wm.set_bounds(x, [2.0, 0.0], [2.0, 0.0])
    _, sol, objective = wm.solve(as_lp=True)
    assert objective == pytest.approx(2.1)


def test_a_threads_option_survives_a_scheduler_started_by_another_highs():
    import highspy

    other = highspy.Highs()
    other.setOptionValue("output_flag", False)
    other.addVar(0.0, 1.0)
    other.run()  # starts the process's scheduler with the default thread count
    m = stock_model()[1]
    wm = WindowModel(m, m.K, [m.s0, m.d], options={"threads": 1})
    wm.set_params(wm.cols(m.s0, [None]), [0.0])
    wm.set_params(wm.cols(m.d, m.K), [1.0, 1.0, 1.0, 1.0])
    wm.set_periods(4)
    assert wm.solve()[0] == "optimal"
    assert other.run() == highspy.HighsStatus.kOk
