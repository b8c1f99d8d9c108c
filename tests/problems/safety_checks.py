"""Checks shared by the problems' safety-layer tests (``tests/problems/<name>/test_safety.py``)."""

from __future__ import annotations

import functools

import numpy as np

from stagewise.agents.common.vector import make_vector_env
from stagewise.core.safety import PROJECTION
from stagewise.core.safety_env import make_safe_env


def constraint_cost(costs: dict[str, float]) -> float:
    """The step's constraint cost apart from the projection distance."""
    return sum(v for k, v in costs.items() if k != PROJECTION)


def random_run(env_id: str, steps: int, seed: int = 0, **config: object) -> dict[str, float]:
    """Totals of ``steps`` random steps through the layer: constraint cost (projection
    apart), raw cost without the layer on the same actions, projection, violation left."""
    safe = make_safe_env(env_id, **config)
    plain = safe.base.__class__(config or None)
    safe.action_space.seed(seed)
    safe.reset(seed=seed)
    plain.reset(seed=seed)
    totals = {"cost": 0.0, "plain_cost": 0.0, "projection": 0.0, "violation": 0.0}
    for _ in range(steps):
        action = safe.action_space.sample()
        *_, terminated, truncated, info = safe.step(action)
        *_, plain_done, _, plain_info = plain.step(action)
        totals["cost"] += constraint_cost(info["costs"])
        totals["plain_cost"] += plain_info["cost"]
        totals["projection"] += info["costs"][PROJECTION]
        totals["violation"] += info["safety"]["violation"]
        if terminated or truncated:
            safe.reset()
        if plain_done:
            plain.reset()
    return totals


def vector_cost(env_id: str, num_envs: int, steps: int) -> float:
    """Constraint cost (projection apart) of ``steps`` random batched steps."""
    envs = make_vector_env(functools.partial(make_safe_env, env_id), num_envs)
    envs.action_space.seed(0)
    envs.reset(seed=0)
    total = 0.0
    for _ in range(steps):
        *_, infos = envs.step(envs.action_space.sample())
        costs = infos["costs"]
        total += float(sum(np.sum(v) for k, v in costs.items() if k != PROJECTION))
    return total


def projection_is_idempotent(env_id: str, steps: int) -> bool:
    """Projecting a projected decision again moves nothing (it is feasible)."""
    env = make_safe_env(env_id)
    env.action_space.seed(1)
    env.reset(seed=1)
    codec, mode = env.base.codec, env.base.action_mode
    for _ in range(steps):
        action = env.action_space.sample()
        state = env.base.batch_state
        first = env.layer.project(state, codec.decode_batch(action[None, :], mode))
        again = env.layer.project(state, first.decision)
        if again.distance[0] > 1e-7:
            return False
        *_, terminated, _, _ = env.step(action)
        if terminated:
            env.reset()
    return True
