"""Multistage stochastic blending of recycled copper alloys as a constrained MDP."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.copper_blending.ccp import ChanceConstrainedLP, Feed, solve_socp
from stagewise.problems.copper_blending.config import CopperBlendingConfig

# The furnace counts as full (the episode ends) within this fraction of W; it
# absorbs float32 rounding of an encoded "feed the rest" action.
FULL_TOLERANCE = 1e-5
# Observed composition deviations are clipped to this many spec half-widths.
DEVIATION_CLIP = 10.0
# Feeds below this weight (t) are treated as no feed (no LP is solved).
MIN_FEED = 1e-9
PERCENT = 100.0


class CopperBlendingDynamics(Dynamics):
    """Batched dynamics of Section 2 with the Section 3.3 lower level.

    State (physical, batch axis first): ``stage`` (stages completed, ``n-1``
    before decision ``n``), ``weight`` ``w`` (t), ``composition`` ``p`` (mass
    fractions, N), ``inventory`` ``I`` (t, M), ``alpha`` (cumulative confidence
    ``alpha_{n-1}``), and the last stage's ``feed`` ``x_{n,2}`` (t, M),
    ``slack_upper``/``slack_lower`` (elastic slack of the lower level, t of
    element mass, N) and ``deviation`` (terminal deviation per element, mass
    fraction, N; zero before the end).
    """

    reward_term_names = ("material", "processing", "fixed", "penalty")

    def __init__(self, config: CopperBlendingConfig):
        self.config = config
        inst = config.instance
        self.instance = inst
        arrays = inst.arrays()
        self.mean, self.std = arrays["mean"], arrays["std"]
        self.lower, self.upper = arrays["lower"], arrays["upper"]
        self.price, self.inventory0 = arrays["price"], arrays["inventory"]
        self.center = 0.5 * (self.lower + self.upper)
        self.half_width = np.maximum(0.5 * (self.upper - self.lower), 1e-6)
        self.n_elements, self.n_materials = len(inst.elements), len(inst.materials)
        self.horizon = inst.T
        self.cost_families = tuple(f"spec_{e}" for e in inst.elements)
        if config.control == "feed":
            # direct feed control: the stage feed x_n (t per material) replaces (alpha~, w~)
            fields = [
                DecisionField("stop", (), 0, 1, "binary"),
                DecisionField("feed", (self.n_materials,), 0.0, inst.W),
            ]
        else:
            fields = [
                DecisionField("stop", (), 0, 1, "binary"),
                DecisionField("alpha", (), 0.0, inst.alpha_star),
                DecisionField("weight", (), 0.0, inst.W),
            ]
        self.codec = ActionCodec(fields, modes=("box", "hybrid"))
        dim = 3 + self.n_elements + self.n_materials
        low = np.zeros(dim, dtype=np.float32)
        high = np.ones(dim, dtype=np.float32)
        low[3 : 3 + self.n_elements] = -DEVIATION_CLIP
        high[3 : 3 + self.n_elements] = DEVIATION_CLIP
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.lower_level = ChanceConstrainedLP(inst, config.slack_penalty, config.alpha_floor)

    # ------------------------------------------------------------------ state
    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        """``s_0``: empty furnace (``w_0 = 0``, ``p_0 = 0``), full inventory, ``alpha_0 = 0``."""
        return {
            "stage": np.zeros(n, dtype=np.int64),
            "weight": np.zeros(n),
            "composition": np.zeros((n, self.n_elements)),
            "inventory": np.tile(self.inventory0, (n, 1)),
            "alpha": np.zeros(n),
            "feed": np.zeros((n, self.n_materials)),
            "slack_upper": np.zeros((n, self.n_elements)),
            "slack_lower": np.zeros((n, self.n_elements)),
            "deviation": np.zeros((n, self.n_elements)),
        }

    def stage_targets(
        self, state: State, decision: Decision
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(final, alpha_n, w~_n)`` per batch entry (Eqs. 14-16, forced stop at ``T``)."""
        inst = self.instance
        stop = np.asarray(decision["stop"], dtype=np.float64).reshape(-1) > 0.5
        final = stop | (state["stage"] + 1 >= inst.T)
        remaining = np.maximum(inst.W - state["weight"], 0.0)
        requested_alpha = state["alpha"] + np.asarray(decision["alpha"], float).reshape(-1)
        alpha_n = np.where(final, inst.alpha_star, np.minimum(requested_alpha, inst.alpha_star))
        weight = np.clip(np.asarray(decision["weight"], float).reshape(-1), 0.0, remaining)
        return final, alpha_n, np.where(final, remaining, weight)

    def direct_feeds(self, state: State, decision: Decision) -> tuple[np.ndarray, np.ndarray]:
        """``(final, x_n)`` per batch entry under ``control='feed'``.

        The decided feed is clipped to ``[0, I_{n-1}]`` and scaled down to the room
        left, ``W - w_{n-1}``. A final stage (stop, or stage ``T``) must fill the
        furnace (Eq. 15): a feed short by at most ``FULL_TOLERANCE W`` is scaled up
        to the room left, a larger shortfall is fed by the lower level at
        ``alpha*`` with the decided feed counted in the melt at its mean composition.
        """
        inst = self.instance
        stop = np.asarray(decision["stop"], dtype=np.float64).reshape(-1) > 0.5
        final = stop | (state["stage"] + 1 >= inst.T)
        n = state["weight"].shape[0]
        wanted = np.asarray(decision["feed"], dtype=np.float64).reshape(n, self.n_materials)
        feed = np.clip(wanted, 0.0, state["inventory"])
        remaining = np.maximum(inst.W - state["weight"], 0.0)
        total = feed.sum(axis=1)
        over = total > remaining
        feed[over] *= (remaining[over] / total[over])[:, None]
        for k in np.flatnonzero(final):
            total_k = feed[k].sum()
            short = remaining[k] - total_k
            if short <= 0.0:
                continue
            if short <= FULL_TOLERANCE * inst.W and total_k > 0.0:
                feed[k] *= remaining[k] / total_k
                continue
            melt_weight = float(state["weight"][k]) + total_k
            melt = (state["weight"][k] * state["composition"][k] + feed[k] @ self.mean) / max(
                melt_weight, 1e-300
            )
            extra = self.lower_level.solve(
                inst.alpha_star, short, melt_weight, melt, state["inventory"][k] - feed[k]
            )
            feed[k] += extra.x
        return final, feed

    def solve_stage(self, state: State, k: int, alpha_n: float, weight: float) -> Feed:
        """The lower level (Eq. 31, or Eqs. 34-35 when ``feedback='open'``) for entry ``k``."""
        closed = self.config.feedback == "closed"
        melt_weight = float(state["weight"][k]) if closed else 0.0
        args = (alpha_n, weight, melt_weight, state["composition"][k], state["inventory"][k])
        if self.config.chance_form == "socp" and alpha_n >= 0.5:
            return solve_socp(self.instance, *args, slack_penalty=self.config.slack_penalty)
        return self.lower_level.solve(*args)

    def sample_composition(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Realized ``Xi`` [n, M, N]: ``N(Theta, Sigma)`` truncated to physical fractions.

        Every entry is clipped to [0, 1]; a material whose clipped fractions sum
        above 1 is scaled down to sum 1. All ``M x N`` entries are drawn at
        every stage, whatever is fed, so that policies share random numbers.
        """
        xi = np.clip(self.mean + self.std * rng.standard_normal((n, *self.mean.shape)), 0.0, 1.0)
        total = xi.sum(axis=2, keepdims=True)
        return np.where(total > 1.0, xi / np.maximum(total, 1e-300), xi)

    # ------------------------------------------------------------- transition
    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        inst = self.instance
        n = state["weight"].shape[0]
        slack_upper = np.zeros((n, self.n_elements))
        slack_lower = np.zeros((n, self.n_elements))
        if self.config.control == "feed":
            final, feed = self.direct_feeds(state, decision)
            alpha_n = np.where(final, inst.alpha_star, state["alpha"])
            stage_weight = np.zeros(n)  # no lower-level solve below
        else:
            final, alpha_n, stage_weight = self.stage_targets(state, decision)
            feed = np.zeros((n, self.n_materials))
        xi = self.sample_composition(rng, n)
        # The one loop over the batch: the lower-level LP is solved per sample.
        for k in range(n):
            if stage_weight[k] > MIN_FEED:
                answer = self.solve_stage(state, k, float(alpha_n[k]), float(stage_weight[k]))
                feed[k], slack_upper[k], slack_lower[k] = (
                    answer.x,
                    answer.slack_upper,
                    answer.slack_lower,
                )
        fed = feed.sum(axis=1)
        weight = state["weight"] + fed  # Eq. 2
        element_mass = state["weight"][:, None] * state["composition"] + np.einsum(
            "kmn,km->kn", xi, feed
        )
        composition = np.where(
            weight[:, None] > 0.0, element_mass / np.maximum(weight, 1e-300)[:, None], 0.0
        )  # Eq. 6
        terminated = final | (weight >= inst.W * (1.0 - FULL_TOLERANCE))
        deviation = np.where(
            terminated[:, None],
            np.maximum(composition - self.upper, 0.0) + np.maximum(self.lower - composition, 0.0),
            0.0,
        )  # Eq. 11 (per element)
        terms = {
            "material": feed @ self.price,  # Eq. 8
            "processing": inst.C_e * fed + inst.C_e_star * state["weight"],  # Eq. 9
            "fixed": np.full(n, inst.C_f),  # Eq. 10
            "penalty": inst.C_v * deviation.sum(axis=1),  # Eq. 11
        }
        next_state = {
            "stage": state["stage"] + 1,
            "weight": weight,
            "composition": composition,
            "inventory": np.maximum(state["inventory"] - feed, 0.0),  # Eq. 1
            "alpha": alpha_n,
            "feed": feed,
            "slack_upper": slack_upper,
            "slack_lower": slack_lower,
            "deviation": deviation,
        }
        # Reward terms are the parts of the reward: minus each cost, in reward units.
        reward_terms = {name: -self.config.reward_scale * cost for name, cost in terms.items()}
        return Transition(
            state=next_state,
            reward=sum(reward_terms.values()),
            costs={
                family: PERCENT * deviation[:, j] for j, family in enumerate(self.cost_families)
            },
            reward_terms=reward_terms,
            terminated=terminated,
        )

    def observe(self, state: State) -> np.ndarray:
        inst = self.instance
        scaled = (state["composition"] - self.center) / self.half_width
        scaled = np.where(state["weight"][:, None] > 0.0, scaled, 0.0)
        inventory_share = state["inventory"] / np.maximum(self.inventory0, 1e-12)
        obs = np.concatenate(
            [
                (state["stage"] / inst.T)[:, None],
                (state["weight"] / inst.W)[:, None],
                state["alpha"][:, None],
                scaled,
                np.where(self.inventory0 > 0.0, inventory_share, 0.0),
            ],
            axis=1,
        )
        return np.clip(obs, self.observation_space.low, self.observation_space.high).astype(
            np.float32
        )


class CopperBlendingEnv(ConstrainedEnv):
    """Multistage stochastic blending of recycled copper alloys.

    Yin et al., *A hybrid DAH-DDPG and chance-constrained programming
    framework for multistage stochastic blending* (the seed paper), Sections
    2 and 3.3. Full model and defaults: ``docs/problems/copper_blending.md``.

    **Decision** ``a_n = (q_n, alpha~_n, w~_n)`` (Eq. 16): stop flag ``stop``
    (binary), confidence increment ``alpha`` in ``[0, alpha*]`` and stage weight
    ``weight`` in ``[0, W]`` (t). ``action_mode="hybrid"`` gives
    ``Tuple(MultiBinary(1), Box(-1, 1, (2,)))``; the default ``"box"`` mode is
    ``Box(-1, 1, (3,))`` = ``(stop by sign, alpha, weight)``.

    **Stage rule.** On ``stop = 1`` or at stage ``T``: ``alpha_n = alpha*`` and
    ``w~_n = W - w_{n-1}`` (Eqs. 14-15). Otherwise ``alpha_n = min(alpha_{n-1}
    + alpha~_n, alpha*)`` and ``w~_n = min(weight, W - w_{n-1})``. The lower
    level (elastic Eq. 31, :mod:`~stagewise.problems.copper_blending.ccp`) turns
    ``(alpha_n, w~_n)`` into the feed ``x_{n,2}``; ``Xi ~ N(Theta, Sigma)`` is
    drawn, truncated to physical fractions, and the melt is updated by Eqs. 1, 2
    and 6. The episode ends (``tau = n``) after a final stage or when the
    furnace holds ``W``.

    **Reward** ``-reward_scale x (c_r + c_e + c_f + c_v)`` (Eqs. 8-11, cu);
    ``info["reward_terms"]`` holds ``material``, ``processing``, ``fixed``,
    ``penalty``: each ``-reward_scale x`` that cost, so they sum to the reward
    (:func:`~stagewise.problems.copper_blending.baselines.term_costs` converts
    them back to cu). **Constraint costs**
    ``info["costs"]["spec_<element>"]``: terminal deviation of that element
    from ``[L, U]`` in wt% (mass-percent points), zero before the end.

    **Observation** (float32, ``3 + N + M``): ``(n-1)/T``, ``w/W``,
    ``alpha_{n-1}``, ``(p - (L+U)/2) / ((U-L)/2)`` clipped to ``[-10, 10]`` (0 while
    the furnace is empty), ``I/I_0``. ``info["state"]`` holds the physical state
    with the last feed and the lower level's slack.
    """

    problem_id: ClassVar[str] = "CopperBlending"
    slug: ClassVar[str] = "copper-blending"
    summary: ClassVar[str] = (
        "Multistage stochastic blending of recycled copper alloys with a chance-constrained "
        "LP lower level (DAH-DDPG/CCP paper, Sections 2-3)"
    )
    config_model = CopperBlendingConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> CopperBlendingDynamics:
        return CopperBlendingDynamics(config)

    def lower_level(self, alpha: float, weight: float) -> Feed:
        """The lower level's feed for stage confidence ``alpha`` and weight ``weight`` (t)
        in the current state (``reset`` first)."""
        if self._state is None:
            raise RuntimeError(f"{self.problem_id}: call reset() before lower_level()")
        return self.dynamics.solve_stage(self._state, 0, alpha, weight)
