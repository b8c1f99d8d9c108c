"""Baseline policies of Sections 4.1.2 and 4.5, and the cost table that compares them.

Every baseline is a fixed stage schedule of physical decisions ``(stop,
alpha, weight)`` encoded for the environment's action mode; the lower level
inside the environment turns each stage into a feed vector.

- ``lp``: single stage at the mean compositions: ``alpha_1 = 0.5`` (``z = 0``),
  ``w~_1 = W``; the full furnace ends the episode (``tau = 1``).
- ``ccp``: single stage at ``alpha*`` (stop at stage 1, Eqs. 14-15).
- ``rule``: two stages: ``w~_1 = f W`` at ``alpha_1 = a``, then stop; ``(f, a)``
  chosen by grid search on training draws (seeds disjoint from evaluation).
- ``open-loop``: the same tuned two-stage rule in an environment whose lower
  level ignores the inspected melt (``feedback="open"``, Eqs. 34-35).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from stagewise.core.policy import Evaluation, evaluate

# Training draws for tuning start here, far from the evaluation seeds 0, 1, ...
TRAINING_SEED = 1_000_000
FIRST_STAGE_FRACTIONS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
FIRST_STAGE_ALPHAS = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8)


class SchedulePolicy:
    """Plays a fixed list of physical stage decisions; the last one repeats if needed."""

    def __init__(self, schedule: list[dict[str, float]], name: str = "schedule"):
        if not schedule:
            raise ValueError("a schedule needs at least one stage decision")
        self.schedule = schedule
        self.name = name
        self._env: gym.Env | None = None
        self._stage = 0

    def reset(self, env: gym.Env) -> None:
        self._env = env
        self._stage = 0

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._env is not None, "reset() first"
        decision = self.schedule[min(self._stage, len(self.schedule) - 1)]
        self._stage += 1
        return self._env.unwrapped.encode(decision)


def _batch_weight(env: gym.Env) -> float:
    return float(env.unwrapped.config.instance.W)


def lp(env: gym.Env) -> SchedulePolicy:
    """Single-stage LP on mean compositions (``tau = 1``, ``z = 0``)."""
    return SchedulePolicy([{"stop": 0, "alpha": 0.5, "weight": _batch_weight(env)}], "lp")


def ccp(env: gym.Env) -> SchedulePolicy:
    """Single-stage CCP at ``alpha*`` (``tau = 1``)."""
    return SchedulePolicy([{"stop": 1, "alpha": 0.0, "weight": 0.0}], "ccp")


def two_stage(env: gym.Env, fraction: float, alpha: float, name: str = "rule") -> SchedulePolicy:
    """Feed ``fraction * W`` at confidence ``alpha``, inspect, then finish at ``alpha*``."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"first-stage fraction must be in (0, 1), got {fraction!r}")
    first = {"stop": 0, "alpha": alpha, "weight": fraction * _batch_weight(env)}
    return SchedulePolicy([first, {"stop": 1, "alpha": 0.0, "weight": 0.0}], name)


def tune_two_stage(
    env: gym.Env,
    fractions: tuple[float, ...] = FIRST_STAGE_FRACTIONS,
    alphas: tuple[float, ...] = FIRST_STAGE_ALPHAS,
    episodes: int = 100,
    seed: int = TRAINING_SEED,
) -> tuple[float, float, dict[tuple[float, float], float]]:
    """Grid search of ``(fraction, alpha_1)`` by mean total cost on training draws.

    Every candidate sees the same draws (seeds ``seed .. seed + episodes - 1``).
    Returns the best fraction, the best alpha and the mean cost of every cell.
    """
    means = {}
    for fraction, alpha in itertools.product(fractions, alphas):
        result = evaluate(two_stage(env, fraction, alpha), env, episodes, seed)
        means[(fraction, alpha)] = float(
            total_costs(result, env.unwrapped.config.reward_scale).mean()
        )
    best = min(means, key=means.__getitem__)
    return best[0], best[1], means


def rule(env: gym.Env, episodes: int = 100, seed: int = TRAINING_SEED) -> SchedulePolicy:
    """Two-stage rule, tuned on ``episodes`` training draws of ``env``'s own configuration."""
    tuning_env = type(env.unwrapped)(env.unwrapped.config, env.unwrapped.action_mode)
    fraction, alpha, _ = tune_two_stage(tuning_env, episodes=episodes, seed=seed)
    return two_stage(env, fraction, alpha, f"rule(f={fraction:g}, alpha1={alpha:g})")


def open_loop(env: gym.Env, episodes: int = 100, seed: int = TRAINING_SEED) -> SchedulePolicy:
    """The tuned two-stage rule with the open-loop lower level of Eqs. 34-35.

    Raises:
        ValueError: ``env`` was built with ``feedback="closed"``.
    """
    if env.unwrapped.config.feedback != "open":
        raise ValueError(
            "the open-loop baseline needs the environment built with feedback='open' "
            "(CLI: --feedback open); its lower level must ignore the inspected melt"
        )
    policy = rule(env, episodes, seed)
    policy.name = "open-loop " + policy.name
    return policy


# ------------------------------------------------------------------ cost table
def term_costs(result: Evaluation, term: str, reward_scale: float) -> np.ndarray:
    """Cost (cu) of one reward term in each episode (terms are ``-reward_scale x`` cost)."""
    return np.array([-e.reward_terms[term] / reward_scale for e in result.episodes])


def total_costs(result: Evaluation, reward_scale: float) -> np.ndarray:
    """Total cost (cu) of each episode: minus its reward over ``reward_scale``."""
    return np.array([-e.reward / reward_scale for e in result.episodes])


@dataclass
class CostRow:
    """Monte-Carlo means of one policy (cu; violations in wt%)."""

    name: str
    total: float
    total_se: float
    components: dict[str, float]
    violation: dict[str, float]
    stages: float
    rho: float = float("nan")
    detail: str = ""


def cost_row(
    name: str, result: Evaluation, elements: list[str], reward_scale: float, detail: str = ""
) -> CostRow:
    """Aggregate an evaluation into a :class:`CostRow` (``rho`` filled by :func:`with_rho`)."""
    totals = total_costs(result, reward_scale)
    terms = ("material", "processing", "fixed", "penalty")
    return CostRow(
        name=name,
        total=float(totals.mean()),
        total_se=float(totals.std(ddof=1) / np.sqrt(totals.size)) if totals.size > 1 else 0.0,
        components={t: float(term_costs(result, t, reward_scale).mean()) for t in terms},
        violation={
            el: float(np.mean([e.costs[f"spec_{el}"] for e in result.episodes])) for el in elements
        },
        stages=float(np.mean([e.length for e in result.episodes])),
        detail=detail,
    )


def with_rho(rows: list[CostRow], reference: str = "ccp") -> list[CostRow]:
    """Set each row's ``rho = C / C_reference`` (Eq. 33)."""
    base = next(r.total for r in rows if r.name == reference)
    for row in rows:
        row.rho = row.total / base
    return rows


def evaluate_baselines(
    instance: str,
    episodes: int = 1000,
    seed: int = 0,
    tuning_episodes: int = 100,
) -> list[CostRow]:
    """Cost table of ``ccp``, ``lp``, ``rule`` and ``open-loop`` on one instance.

    All four face the same draws (episode ``k`` from seed ``seed + k``).
    """
    from stagewise.problems.copper_blending.env import CopperBlendingEnv

    closed = CopperBlendingEnv({"instance": instance})
    opened = CopperBlendingEnv({"instance": instance, "feedback": "open"})
    elements = list(closed.config.instance.elements)
    candidates = [
        ("ccp", closed, ccp(closed)),
        ("lp", closed, lp(closed)),
        ("rule", closed, rule(closed, tuning_episodes)),
        ("open-loop", opened, open_loop(opened, tuning_episodes)),
    ]
    rows = [
        cost_row(
            name,
            evaluate(policy, env, episodes, seed),
            elements,
            env.config.reward_scale,
            policy.name,
        )
        for name, env, policy in candidates
    ]
    return with_rho(rows)
