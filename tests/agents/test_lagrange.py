"""Multipliers move in the direction of the constraint violation, one per family."""

import numpy as np
import pytest

from stagewise.agents.common.lagrange import LagrangeMultipliers


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_violation_raises_and_slack_lowers_multiplier(optimizer):
    lam = LagrangeMultipliers(1, init=1.0, lr=0.1, optimizer=optimizer)
    up = lam.update(np.array([12.0]), np.array([10.0]))[0]
    assert up > 1.0
    down = lam.update(np.array([5.0]), np.array([10.0]))[0]
    assert down < up


def test_multiplier_never_negative():
    lam = LagrangeMultipliers(1, init=0.0, lr=1.0, optimizer="sgd")
    assert lam.update(np.array([0.0]), np.array([10.0]))[0] == 0.0


def test_one_multiplier_per_constraint():
    lam = LagrangeMultipliers(2, init=0.0, lr=0.5, optimizer="sgd")
    value = lam.update(np.array([3.0, 1.0]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(value, [1.0, 0.0])  # sgd: lambda + lr * (J - d), projected


def test_state_roundtrip():
    a = LagrangeMultipliers(2, init=0.5, lr=0.1)
    a.update(np.array([3.0, 1.0]), np.array([1.0, 2.0]))
    b = LagrangeMultipliers(2)
    b.load_state_dict(a.state_dict())
    for m in (a, b):
        m.update(np.array([2.0, 0.0]), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(a.value, b.value)
