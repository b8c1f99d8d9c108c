"""GAE against a hand-computed example; cost signals follow the same recursion."""

import numpy as np
import pytest

from stagewise.agents.common.rollout import RolloutBuffer, gae


def test_gae_matches_hand_computation():
    # gamma 0.9, lambda 0.8; the episode ends after step 1, so step 2 starts a new one.
    rewards = np.array([[1.0], [2.0], [3.0]])
    values = np.array([[0.5], [1.0], [1.5]])
    dones = np.array([[0.0], [1.0], [0.0]])
    adv, ret = gae(rewards, values, np.array([2.0]), dones, gamma=0.9, lam=0.8)
    # delta_2 = 3 + 0.9 * 2.0 - 1.5 = 3.3            A_2 = 3.3
    # delta_1 = 2 + 0 - 1.0 = 1.0 (terminal)         A_1 = 1.0
    # delta_0 = 1 + 0.9 * 1.0 - 0.5 = 1.4            A_0 = 1.4 + 0.72 * 1.0 = 2.12
    np.testing.assert_allclose(adv[:, 0], [2.12, 1.0, 3.3])
    np.testing.assert_allclose(ret[:, 0], [2.62, 2.0, 4.8])


def test_gae_runs_each_cost_signal_independently():
    rng = np.random.default_rng(0)
    costs = rng.random((5, 3, 2))
    values = rng.random((5, 3, 2))
    last = rng.random((3, 2))
    dones = (rng.random((5, 3)) < 0.3).astype(float)
    adv, _ = gae(costs, values, last, dones, 0.95, 0.9)
    for j in range(2):
        single, _ = gae(costs[..., j], values[..., j], last[:, j], dones, 0.95, 0.9)
        np.testing.assert_allclose(adv[..., j], single)


def test_gae_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        gae(np.zeros((3, 2)), np.zeros((3, 1)), np.zeros(2), np.zeros((3, 2)), 0.9, 0.9)


def test_buffer_flattens_time_and_envs():
    buf = RolloutBuffer(steps=2, num_envs=3, obs_dim=1, act_shape=(1,), k=1)
    for t in range(2):
        obs = np.full((3, 1), t, dtype=np.float32)
        buf.add(
            obs,
            obs,
            np.zeros(3),
            np.ones(3),
            np.zeros((3, 1)),
            np.zeros(3),
            np.zeros(3),
            np.zeros((3, 1)),
        )
    batch = buf.finish(np.zeros(3), np.zeros((3, 1)), 1.0, 1.0, 1.0, 1.0)
    assert len(batch) == 6
    # undiscounted, no value: the advantage is the reward-to-go of a 2-step rollout
    np.testing.assert_allclose(batch.adv.numpy(), [2, 2, 2, 1, 1, 1])
    assert batch.cost_adv.shape == (6, 1)
