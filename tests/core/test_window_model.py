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
