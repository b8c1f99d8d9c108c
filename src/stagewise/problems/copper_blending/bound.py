"""Perfect-information lower bound on the expected cost of any blending policy.

The multistage problem has no exact optimizer (continuous state, an LP inside
every stage), so its optimizer is a bound: the *wait-and-see* value. In one
episode the environment draws all ``M x N`` fractions at every stage, ``Xi_1,
..., Xi_T``, whatever is fed. A clairvoyant who knows all ``T`` draws in advance
chooses stage feeds ``x_n >= 0`` (t per material) to minimize

    C_f + C_e W + sum_n C^T x_n + (C_v / W) sum_j (u_j + l_j)
    s.t. sum_n Xi_n[:, j]^T x_n - u_j <= U_j W,   sum_n Xi_n[:, j]^T x_n + l_j >= L_j W,
         sum_n x_n <= I,   sum_n 1^T x_n = W,   u, l >= 0.

``u_j, l_j`` are the element masses (t) above ``U_j W`` and below ``L_j W``, so
``(C_v / W)(u + l)`` is Eq. 11's penalty of the final melt ``p_tau = sum_n
Xi_n^T x_n / W``. Every policy fills the furnace to ``W`` (Eq. 15), pays at least
one fixed cost ``C_f`` (Eq. 10) and ``C_e W`` of processing (Eq. 9, the holding
term ``C_e* w_{n-1} >= 0`` dropped), and feeds stage ``n`` with the draw ``Xi_n``;
its feeds are one feasible point of the LP above for the same draws. So in every
episode the clairvoyant cost is at most the cost of any policy (common random
numbers: episode ``k`` from seed ``seed + k``), and its mean bounds the expected
cost of every policy from below. ``rho`` of the bound (Eq. 33) is therefore a
floor no agent can beat.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from stagewise.core.config import load_config
from stagewise.core.policy import evaluate
from stagewise.core.solve import Solution
from stagewise.problems.copper_blending.config import CopperBlendingConfig, CopperInstance

DEFAULT_EPISODES = 1000


@dataclass(frozen=True)
class ClairvoyantBlend:
    """The clairvoyant's answer for one episode.

    Attributes:
        cost: total cost (cu): ``C_f + C_e W`` + material + penalty.
        material: ``sum_n C^T x_n`` (cu).
        penalty: ``C_v ||(p - U)_+ + (L - p)_+||_1`` of the final melt (cu).
        feed: ``x_n`` per stage (t), shape ``[T, M]``.
    """

    cost: float
    material: float
    penalty: float
    feed: np.ndarray


def clairvoyant_blend(instance: CopperInstance, draws: np.ndarray) -> ClairvoyantBlend:
    """Cheapest blend of ``W`` t knowing the fractions ``draws`` (``[T, M, N]``) of every stage."""
    arrays = instance.arrays()
    n_elements, n_materials = len(instance.elements), len(instance.materials)
    if draws.ndim != 3 or draws.shape[1:] != (n_materials, n_elements):
        raise ValueError(
            f"draws must have shape [stages, {n_materials}, {n_elements}] for instance "
            f"{instance.name!r}, got {list(draws.shape)}"
        )
    stages, w = draws.shape[0], instance.W
    n_feed = stages * n_materials
    # element mass of the blend per element: rows j, columns (n, i) in stage-major order
    mass = draws.transpose(2, 0, 1).reshape(n_elements, n_feed)
    identity = sparse.identity(n_elements, format="csr")
    zero = sparse.csr_matrix((n_elements, n_elements))
    inventory_rows = sparse.hstack(
        [
            sparse.hstack([sparse.identity(n_materials)] * stages),
            sparse.csr_matrix((n_materials, 2 * n_elements)),
        ]
    )
    a_ub = sparse.vstack(
        [
            sparse.hstack([sparse.csr_matrix(mass), -identity, zero]),
            sparse.hstack([sparse.csr_matrix(-mass), zero, -identity]),
            inventory_rows,
        ],
        format="csr",
    )
    b_ub = np.concatenate([arrays["upper"] * w, -arrays["lower"] * w, arrays["inventory"]])
    a_eq = np.concatenate([np.ones(n_feed), np.zeros(2 * n_elements)])[None, :]
    price = np.tile(arrays["price"], stages)
    c = np.concatenate([price, np.full(2 * n_elements, instance.C_v / w)])
    result = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[w], bounds=(0, None), method="highs")
    if result.status != 0:
        raise RuntimeError(f"clairvoyant LP of {instance.name!r} failed: {result.message}")
    feed = np.maximum(result.x[:n_feed], 0.0)
    material = float(price @ feed)
    penalty = float(result.fun - material)
    return ClairvoyantBlend(
        cost=instance.C_f + instance.C_e * w + material + penalty,
        material=material,
        penalty=penalty,
        feed=feed.reshape(stages, n_materials),
    )


def episode_draws(env: gym.Env, seed: int) -> np.ndarray:
    """The fractions ``[T, M, N]`` that stages ``1..T`` of the episode from ``reset(seed)`` draw."""
    env.reset(seed=seed)
    unwrapped = env.unwrapped
    dynamics = unwrapped.dynamics
    return np.concatenate(
        [dynamics.sample_composition(unwrapped.np_random, 1) for _ in range(dynamics.horizon)]
    )


def clairvoyant_costs(
    env: gym.Env, episodes: int, seed: int = 0, time_limit: float | None = None
) -> np.ndarray:
    """Clairvoyant cost (cu) of episodes ``seed, seed + 1, ...`` (fewer if ``time_limit`` s pass).

    The episodes are those of :func:`~stagewise.core.policy.evaluate` with the same
    ``seed``, so the costs pair with any policy's evaluation episode by episode.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    instance = env.unwrapped.config.instance
    start, costs = time.perf_counter(), []
    for k in range(episodes):
        costs.append(clairvoyant_blend(instance, episode_draws(env, seed + k)).cost)
        if time_limit is not None and time.perf_counter() - start > time_limit:
            break
    return np.array(costs)


def solve(
    config: Any = None,
    *,
    episodes: int = DEFAULT_EPISODES,
    seed: int = 0,
    time_limit: float | None = None,
    **overrides: Any,
) -> Solution:
    """Perfect-information bound on the expected reward, with single-stage CCP beside it.

    ``objective`` and ``bound`` are the mean clairvoyant reward (``-reward_scale x``
    cost) over ``episodes`` episodes from ``seed``: an upper bound on the expected
    reward of every policy, up to its sampling error (``details["cost_se"]``).
    ``details["rho_bound"]`` is the mean clairvoyant cost over single-stage CCP's
    mean cost on the same episodes (Eq. 33), the lowest ``rho`` any policy can reach.
    """
    from stagewise.problems.copper_blending.baselines import ccp, total_costs
    from stagewise.problems.copper_blending.env import CopperBlendingEnv

    cfg = load_config(CopperBlendingConfig, config, overrides)
    env = CopperBlendingEnv(cfg)
    start = time.perf_counter()
    costs = clairvoyant_costs(env, episodes, seed, time_limit)
    elapsed = time.perf_counter() - start
    done = costs.size
    ccp_cost = float(total_costs(evaluate(ccp(env), env, done, seed), cfg.reward_scale).mean())
    mean = float(costs.mean())
    se = float(costs.std(ddof=1) / np.sqrt(done)) if done > 1 else float("nan")
    reward = -cfg.reward_scale * mean
    return Solution(
        objective=reward,
        status="bound" if done == episodes else "time_limit",
        solve_time=elapsed,
        bound=reward,
        details={
            "method": "perfect information (wait-and-see) bound",
            "episodes": done,
            "seed": seed,
            "cost_mean": mean,
            "cost_se": se,
            "ccp_cost": ccp_cost,
            "rho_bound": mean / ccp_cost,
        },
    )
