"""Optimizer results and their replay through the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from stagewise.core.policy import EpisodeRecord, Policy, run_episode


@dataclass
class Solution:
    """What an optimizer returns.

    Attributes:
        objective: optimal (or best found) objective, in the environment's reward units.
        status: solver status (``"optimal"``, ``"time_limit"``, ...).
        bound: best proven bound on the objective, if the method gives one.
        solve_time: wall-clock seconds.
        plan: open-loop physical decisions, one dict per stage (deterministic problems).
        policy: a closed-loop :class:`Policy` (stochastic problems, e.g. a DP policy).
        details: method-specific extras (thresholds, gaps, grid sizes, ...).
    """

    objective: float
    status: str
    solve_time: float
    bound: float | None = None
    plan: list[dict[str, Any]] | None = None
    policy: Policy | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_policy(self) -> Policy:
        """The closed-loop policy if there is one, else the plan replayed open loop."""
        if self.policy is not None:
            return self.policy
        if self.plan is None:
            raise ValueError("this solution has neither a policy nor a plan")
        return PlanPolicy(self.plan)


class PlanPolicy:
    """Replays a list of physical decisions, one per step, encoded for the env's action mode."""

    def __init__(self, plan: list[dict[str, Any]]):
        self.plan = plan
        self._env: gym.Env | None = None
        self._t = 0

    def reset(self, env: gym.Env) -> None:
        self._env = env
        self._t = 0

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._env is not None, "reset() first"
        if self._t >= len(self.plan):
            raise ValueError(f"the plan has {len(self.plan)} stages; the episode asked for more")
        action = self._env.unwrapped.encode(self.plan[self._t])
        self._t += 1
        return action


def replay(env: gym.Env, plan: list[dict[str, Any]], seed: int | None = None) -> EpisodeRecord:
    """Step ``plan`` through ``env`` from ``reset(seed)``; return the episode totals."""
    return run_episode(PlanPolicy(plan), env, seed)
