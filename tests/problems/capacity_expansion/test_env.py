"""The capacity-expansion environment against hand-computed stage rewards (Eqs. 8 and 10)."""

import numpy as np
import pytest

from stagewise.problems.capacity_expansion.env import CapacityExpansionEnv

U, C_OM, C_INV, RATE = 2920.0, 300.0, 20.0, 0.05


def test_eq8_two_stage_rewards_match_hand_computation():
    env = CapacityExpansionEnv(uncertainty="price", T=2, K=1, action_mode="discrete")
    _, info = env.reset(seed=3)
    assert info["state"] == {"t": 1, "price": 0.1, "demand": np.inf, "capacity": 0.0}
    _, r1, done1, _, info = env.step(0)
    p2 = info["state"]["price"]
    assert r1 == 0.0 and not done1
    _, r2, done2, _, info = env.step(1)
    # x_2 = 1 at stage 2: (u p_2 - c_om - c_inv) / (1 + i)
    assert r2 == pytest.approx((U * p2 - C_OM - C_INV) / (1 + RATE), rel=1e-12)
    assert done2
    assert info["reward_terms"]["investment"] == pytest.approx(-C_INV / (1 + RATE))


def test_eq8_first_stage_term_is_undiscounted():
    env = CapacityExpansionEnv(uncertainty="price", T=2, K=1, action_mode="discrete")
    env.reset(seed=0)
    _, r1, _, _, info = env.step(1)
    # (u p_1 - c_om - c_inv) x_1 = 292 - 320
    assert r1 == pytest.approx(-28.0)
    p2 = info["state"]["price"]
    _, r2, _, _, _ = env.step(0)
    # capacity stays installed: (u p_2 - c_om) / (1 + i), no investment
    assert r2 == pytest.approx((U * p2 - C_OM) / (1 + RATE))


def test_eq10_two_stage_rewards_serve_only_demand():
    env = CapacityExpansionEnv(T=2, K=3, action_mode="discrete")
    _, info = env.reset(seed=5)
    assert info["state"]["demand"] == 1.0
    # x_1 = 2 with d_1 = 1: u p_1 min(1, 2) - 2 (c_om + c_inv) = 292 - 640
    _, r1, _, _, info = env.step(2)
    assert r1 == pytest.approx(292.0 - 640.0)
    p2, d2 = info["state"]["price"], info["state"]["demand"]
    _, r2, _, _, _ = env.step(1)
    expected = (U * p2 * min(d2, 3.0) - C_OM * 3 - C_INV * 1) / (1 + RATE)
    assert r2 == pytest.approx(expected, rel=1e-12)


def test_units_beyond_remaining_capacity_are_clipped_and_charged():
    env = CapacityExpansionEnv(T=3, K=2, action_mode="discrete")
    env.reset(seed=1)
    env.step(1)
    _, _, _, _, info = env.step(2)  # only 1 unit remains
    assert info["state"]["capacity"] == 2.0
    assert info["costs"]["capacity"] == 1.0
    assert info["cost"] == 1.0
    assert info["reward_terms"]["investment"] == pytest.approx(-C_INV / (1 + RATE))


def test_action_mask_allows_only_remaining_units():
    env = CapacityExpansionEnv(T=3, K=2, action_mode="discrete")
    _, info = env.reset(seed=0)
    assert info["action_mask"].tolist() == [True, True, True]
    _, _, _, _, info = env.step(1)
    assert info["action_mask"].tolist() == [True, True, False]
    _, _, _, _, info = env.step(1)
    assert info["action_mask"].tolist() == [True, False, False]
