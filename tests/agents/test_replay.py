"""The shared replay buffer: batched adds, per-family costs, sampling, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.agents.common.replay import ReplayBuffer


def _transitions(n: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    action = rng.normal(size=(n, 2)).astype(np.float32)
    reward = rng.normal(size=n).astype(np.float32)
    cost = rng.random(size=(n, 2)).astype(np.float32)
    next_obs = rng.normal(size=(n, 3)).astype(np.float32)
    done = rng.random(n) < 0.3
    return obs, action, reward, cost, next_obs, done


def _buffer(capacity: int) -> ReplayBuffer:
    return ReplayBuffer(capacity, (3,), action_shape=(2,), cost_shape=(2,))


def _same(a: ReplayBuffer, b: ReplayBuffer) -> bool:
    fields = ("obs", "action", "reward", "cost", "next_obs", "done")
    return (a.pos, a.size) == (b.pos, b.size) and all(
        np.array_equal(getattr(a, f), getattr(b, f)) for f in fields
    )


@pytest.mark.parametrize("chunks", [[4], [3, 4], [5, 9], [23]])
def test_add_batch_equals_one_add_per_transition_across_wraparound(chunks: list[int]) -> None:
    batched, single = _buffer(7), _buffer(7)
    for seed, n in enumerate(chunks):
        obs, action, reward, cost, next_obs, done = _transitions(n, seed)
        batched.add_batch(obs, action, reward, cost, next_obs, done)
        for i in range(n):
            single.add(obs[i], action[i], float(reward[i]), cost[i], next_obs[i], bool(done[i]))
    assert _same(batched, single)


def test_per_family_costs_are_sampled_with_their_transition() -> None:
    buffer = _buffer(50)
    obs, action, reward, cost, next_obs, done = _transitions(50)
    buffer.add_batch(obs, action, reward, cost, next_obs, done)
    batch = buffer.sample(16, np.random.default_rng(1))
    rows = [int(np.flatnonzero((obs == o).all(axis=1))[0]) for o in batch.obs]
    assert batch.cost.shape == (16, 2)
    np.testing.assert_array_equal(batch.cost, cost[rows])
    np.testing.assert_array_equal(batch.done, done[rows])


def test_checkpoint_round_trip_keeps_contents_and_position() -> None:
    buffer = _buffer(7)
    buffer.add_batch(*_transitions(10))
    restored = _buffer(7)
    restored.load_state_dict(buffer.state_dict())
    assert _same(buffer, restored)
