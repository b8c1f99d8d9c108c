"""Capacity expansion under price (and demand) uncertainty, as a constrained MDP."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig

LOG_CLIP = 20.0


class CapacityExpansionDynamics(Dynamics):
    """Batched dynamics of Eqs. 8/10 (Giahi, MacKenzie, Bijari).

    State (physical): stage ``t`` (1-based, the stage about to be decided;
    ``T + 1`` once the episode is over), price ``p_t``, demand ``d_t``,
    installed capacity ``C_{t-1}`` (units installed before stage ``t``).
    """

    cost_families = ("capacity",)
    reward_term_names = ("revenue", "operating", "investment")

    def __init__(self, config: CapacityExpansionConfig):
        self.config = config
        self.horizon = config.T
        self.codec = ActionCodec(
            [DecisionField("units", (), 0, config.K, "integer")], modes=("box", "discrete")
        )
        low = np.array([0.0, -LOG_CLIP, -LOG_CLIP, 0.0], dtype=np.float32)
        high = np.array([1.0, LOG_CLIP, LOG_CLIP, 1.0], dtype=np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self._has_demand = config.uncertainty == "price_demand"

    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        c = self.config
        return {
            "t": np.ones(n, dtype=np.int64),
            "price": np.full(n, c.p1),
            "demand": np.full(n, c.d1 if self._has_demand else np.inf),
            "capacity": np.zeros(n),
        }

    def stage_profit(
        self,
        t: np.ndarray,
        price: np.ndarray,
        demand: np.ndarray,
        capacity: np.ndarray,
        units: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Discounted revenue, operating and investment terms of stage ``t`` (Eq. 10 summand).

        ``capacity`` is the capacity after adding ``units`` at stage ``t``.
        """
        c = self.config
        discount = (1.0 + c.i) ** -(t - 1.0)
        served = np.minimum(demand, c.c_p * capacity) if self._has_demand else capacity
        return {
            "revenue": discount * c.u * price * served,
            "operating": -discount * c.c_om * capacity,
            "investment": -discount * c.c_inv * units,
        }

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        c = self.config
        requested = np.asarray(decision["units"], dtype=np.float64).reshape(-1)
        remaining = c.K - state["capacity"]
        units = np.minimum(np.maximum(requested, 0.0), remaining)
        capacity = state["capacity"] + units
        terms = self.stage_profit(state["t"], state["price"], state["demand"], capacity, units)
        n = requested.shape[0]
        price_shock = rng.normal(c.mu1, c.sigma1, size=n)
        demand_shock = rng.normal(c.mu2, c.sigma2, size=n)
        next_state = {
            "t": state["t"] + 1,
            "price": state["price"] * np.exp(price_shock),
            "demand": state["demand"] * np.exp(demand_shock)
            if self._has_demand
            else state["demand"],
            "capacity": capacity,
        }
        return Transition(
            state=next_state,
            reward=terms["revenue"] + terms["operating"] + terms["investment"],
            costs={"capacity": requested - units},
            reward_terms=terms,
            terminated=state["t"] >= c.T,
        )

    def action_mask(self, state: State) -> np.ndarray:
        """Feasible additions: ``x_t <= K - C_{t-1}``."""
        units = np.arange(self.config.K + 1)
        return units[None, :] <= (self.config.K - state["capacity"])[:, None]

    def observe(self, state: State) -> np.ndarray:
        c = self.config
        obs = np.empty((state["price"].shape[0], 4), dtype=np.float32)
        obs[:, 0] = (state["t"] - 1.0) / c.T
        obs[:, 1] = np.log(state["price"] / c.p1)
        obs[:, 2] = np.log(state["demand"] / c.d1) if self._has_demand else 0.0
        obs[:, 3] = state["capacity"] / c.K
        # ufuncs, not np.clip: its dispatch costs more than the clipping at a batch of one
        np.minimum(np.maximum(obs[:, 1:3], -LOG_CLIP, out=obs[:, 1:3]), LOG_CLIP, out=obs[:, 1:3])
        return obs


class CapacityExpansionEnv(ConstrainedEnv):
    """Multi-stage capacity expansion under price and demand uncertainty.

    Giahi, MacKenzie, Bijari, *Dynamic Decision Making in Engineering System
    Design: A Deep Q-Learning Approach* (arXiv:2312.17284), Eqs. 8 and 10.

    **Decision.** ``x_t`` in {0, ..., K}: units of capacity added at stage ``t``
    (``Discrete(K+1)`` in ``action_mode="discrete"``; one normalized integer in
    the default ``"box"`` mode). Adding more than the remaining ``K - C_{t-1}``
    is clipped to the remainder and the excess is charged to ``costs["capacity"]``.

    **Dynamics.** ``p_{t+1} = p_t exp(N(mu1, sigma1))``,
    ``d_{t+1} = d_t exp(N(mu2, sigma2))`` (independent shocks; sigma is the
    standard deviation of the log-increment), ``C_t = C_{t-1} + x_t``.

    **Reward** of stage ``t`` (the Eq. 10 summand, with the sign of the paper's
    t = 1 typo corrected; Eq. 8 replaces ``min(d_t, c_p C_t)`` by ``C_t``):
    ``(1+i)^{-(t-1)} [u p_t min(d_t, c_p C_t) - c_om C_t - c_inv x_t]``.
    The undiscounted sum of rewards over an episode is the paper's profit.

    **Observation** (float32, 4 entries): ``(t-1)/T``, ``log(p_t/p1)``,
    ``log(d_t/d1)`` (0 in Eq. 8), ``C_{t-1}/K``; log entries clipped to [-20, 20].

    **Episode** ends after stage ``T`` (``terminated``). ``info["state"]`` holds
    ``t``, ``price``, ``demand`` (inf in Eq. 8), ``capacity`` in physical units.
    """

    problem_id: ClassVar[str] = "CapacityExpansion"
    slug: ClassVar[str] = "capacity-expansion"
    summary: ClassVar[str] = (
        "Multi-stage capacity expansion under lognormal price and demand uncertainty "
        "(Giahi et al., Eqs. 8/10)"
    )
    config_model = CapacityExpansionConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> CapacityExpansionDynamics:
        return CapacityExpansionDynamics(config)
