"""Forecast errors of the stochastic variants (``uncertainty="forecast"``), once for every problem.

Each exogenous series of a problem (demand, prices, load, renewable profiles) is
published as a deterministic sequence ``b_s`` (``s = 0 .. T - 1``). The stochastic
variant draws each episode a realisation around it with multiplicative errors that
are correlated in time and grow with lead time, AR(1) in log space:

    x_{-1} = 0,   x_s = phi x_{s-1} + sigma eps_s,   eps_s ~ N(0, 1) iid,
    r_s = b_s exp(x_s - V_s / 2),   V_s = Var(x_s) = sigma^2 (1 - phi^(2(s+1))) / (1 - phi^2),

so ``E[r_s] = b_s``: the published series is the mean of the draws. A decision maker
who has seen the series up to period ``k - 1`` (``x_{k-1}`` known) forecasts period
``s >= k`` by the conditional mean

    f_{s|k} = b_s exp(phi^l x_{k-1} - V_s / 2 + v_l / 2),   l = s - k + 1,
    v_l = sigma^2 (1 - phi^(2l)) / (1 - phi^2),

whose log error has variance ``v_l``: growing with the lead ``l`` from ``sigma^2``
towards the stationary ``sigma^2 / (1 - phi^2)``. Before any observation (``k = 0``)
the forecast is the published series itself; with ``sigma = 0`` every draw and every
forecast equals the published series exactly.

Each element of a series (a bus, a product, a market) gets its own independent AR(1)
path. The draws are made once per episode, in the dynamics' ``initial_state``, from
the environment's generator (``self.np_random``), ``[n, T, ...]`` for the ``n`` copies of
a vector environment: independent scenarios per copy, the same scenario for the same
seed, and (because the realisation does not depend on the decisions) common random
numbers for every policy evaluated on the same seeds.

:class:`UncertaintyFields` holds the config fields every stochastic variant shares;
:class:`ErrorModel` draws and forecasts; :func:`forecast_policies` makes a problem's
``mpc`` (re-planned on the forecast mean) and ``clairvoyant`` (the realised scenario of
the episode, known in advance: the perfect-information bound) policy factories out of
one planning function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import gymnasium as gym
import numpy as np
from pydantic import Field

from stagewise.core.config import ProblemConfig
from stagewise.core.mpc import MPCPolicy
from stagewise.core.solve import PlanPolicy, Solution

Uncertainty = Literal["none", "forecast"]
DEFAULT_SIGMA = 0.05
DEFAULT_PHI = 0.9


class UncertaintyFields(ProblemConfig):
    """Config fields of the stochastic variant; ``uncertainty="none"`` keeps the case study."""

    uncertainty: Uncertainty = Field(
        "none",
        description=(
            "'none': the published deterministic series; 'forecast': drawn each episode around "
            "them (AR(1) log-space errors), observed through a forecast"
        ),
    )
    error_sigma: float = Field(
        DEFAULT_SIGMA,
        ge=0,
        le=2,
        description="sigma: std of the log-space error innovation per period (0.05: 5 %)",
    )
    error_phi: float = Field(
        DEFAULT_PHI,
        ge=0,
        le=1,
        description="phi: persistence of the log-space error per period (0.9)",
    )

    @property
    def stochastic(self) -> bool:
        """Whether the exogenous series are drawn per episode."""
        return self.uncertainty == "forecast"

    def error_model(self) -> ErrorModel:
        return ErrorModel(self.error_sigma, self.error_phi)


@dataclass(frozen=True)
class ErrorModel:
    """AR(1) log-space multiplicative errors (module docstring): ``sigma``, ``phi``."""

    sigma: float = DEFAULT_SIGMA
    phi: float = DEFAULT_PHI

    def variance(self, steps: np.ndarray | int) -> np.ndarray:
        """``Var(x)`` after ``steps`` innovations from a known value: ``v_steps``."""
        steps = np.asarray(steps, dtype=np.float64)
        s2, p2 = self.sigma**2, self.phi**2
        if p2 >= 1.0:
            return s2 * steps
        return s2 * (1.0 - p2**steps) / (1.0 - p2)

    def draw(
        self, rng: np.random.Generator, n: int, length: int, shape: tuple[int, ...] = ()
    ) -> np.ndarray:
        """Log errors ``x`` ``[n, length, *shape]``: one AR(1) path per copy and element."""
        eps = rng.standard_normal((n, length, *shape))
        x = np.empty_like(eps)
        previous = np.zeros((n, *shape))
        for s in range(length):
            previous = self.phi * previous + self.sigma * eps[:, s]
            x[:, s] = previous
        return x

    def _half_variance(self, length: int, ndim: int) -> np.ndarray:
        """``V_s / 2`` ``[length, 1, ...]`` for a series with ``ndim`` element axes."""
        half = 0.5 * self.variance(np.arange(1, length + 1))
        return half.reshape((length,) + (1,) * ndim)

    def realise(self, base: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The realised series ``[n, T, ...]`` of the published ``base`` ``[T, ...]``."""
        base = np.asarray(base, dtype=np.float64)
        if self.sigma == 0.0:
            return np.broadcast_to(base, x.shape).copy()
        return base * np.exp(x - self._half_variance(base.shape[0], base.ndim - 1))

    def forecast(self, base: np.ndarray, x: np.ndarray, known: np.ndarray) -> np.ndarray:
        """What is known at ``known`` ``[n]`` (periods ``< known`` observed): ``[n, T, ...]``,
        the realised values before ``known`` and the conditional means from it on."""
        base = np.asarray(base, dtype=np.float64)
        n, length = x.shape[0], base.shape[0]
        if self.sigma == 0.0:
            return np.broadcast_to(base, (n, *base.shape)).copy()
        known = np.broadcast_to(np.asarray(known, dtype=np.int64), (n,))
        element_axes = (1,) * (base.ndim - 1)
        periods = np.arange(length)[None, :]
        lead = np.maximum(periods - known[:, None] + 1, 0).astype(np.float64)  # [n, T]
        last = np.clip(known - 1, 0, length - 1)
        x_last = np.where(
            (known > 0).reshape((n, *element_axes)), x[np.arange(n), last], 0.0
        )  # [n, ...]
        lead = lead.reshape(lead.shape + element_axes)
        half_v = self._half_variance(length, base.ndim - 1)[None]
        log_mean = self.phi**lead * x_last[:, None] - half_v + 0.5 * self.variance(lead)
        observed = (periods < known[:, None]).reshape((n, length, *element_axes))
        return base * np.exp(np.where(observed, x - half_v, log_mean))


# --------------------------------------------------------------------- policies
class PlanFunction(Protocol):
    """A problem's planner: its model from ``state`` over ``window`` periods on ``series``.

    ``series`` maps each exogenous series name to ``[T, ...]`` values (the forecast, or the
    realised scenario); ``state`` is ``info["state"]`` (``None``: the initial state);
    ``window`` ``None`` plans to the end of the episode.
    """

    def __call__(
        self,
        config: Any,
        state: dict[str, Any] | None,
        series: Mapping[str, np.ndarray],
        window: int | None,
    ) -> Solution: ...


FORECAST_SUFFIX = "_forecast"


def forecast_series(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The forecasts in a physical state: ``{name: [T, ...]}`` from its ``<name>_forecast`` keys
    (realised values before the state's period, the forecast mean from it on)."""
    return {
        key[: -len(FORECAST_SUFFIX)]: np.asarray(value)
        for key, value in state.items()
        if key.endswith(FORECAST_SUFFIX)
    }


def scenario(env: gym.Env) -> dict[str, np.ndarray]:
    """The realised exogenous series ``{name: [T, ...]}`` of ``env``'s current episode.

    Read through the dynamics' ``scenario(state)`` (copy 0); only an oracle may call it.
    """
    inner = env.unwrapped
    if inner._state is None:  # the episode's draws live in the internal state
        raise RuntimeError(f"{inner.problem_id}: call reset() before scenario()")
    return {k: np.asarray(v[0]).copy() for k, v in inner.dynamics.scenario(inner._state).items()}


class ClairvoyantPolicy:
    """Perfect information: at reset, the problem solved on the episode's realised scenario
    from the initial state, its plan replayed (the bound every causal policy stays below)."""

    def __init__(self, plan: PlanFunction):
        self.plan = plan
        self.solution: Solution | None = None
        self._replay: PlanPolicy | None = None

    def reset(self, env: gym.Env) -> None:
        inner = env.unwrapped
        self.solution = self.plan(inner.config, None, scenario(env), None)
        if not self.solution.plan:
            raise ValueError("the planner returned no plan")
        self._replay = PlanPolicy(self.solution.plan)
        self._replay.reset(env)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._replay is not None, "reset() first"
        return self._replay.act(obs, info)


WindowPlanner = Callable[[dict[str, Any], Mapping[str, np.ndarray]], Solution]
"""A persistent planner: ``(state, series) -> Solution`` on a model built once."""
WindowPlannerFactory = Callable[[Any, int | None], WindowPlanner]
"""``(config, window) -> WindowPlanner``: a problem's model compiled once for a window."""


def forecast_mpc(
    plan: PlanFunction,
    env: gym.Env,
    window: int | None = None,
    persistent: WindowPlannerFactory | None = None,
) -> MPCPolicy:
    """Rolling horizon on the forecast mean: each step, the model from ``info["state"]`` over
    ``window`` periods (``None``: to the end) on the state's ``<name>_forecast`` series.

    With ``persistent`` (the problem's :class:`~stagewise.core.mpc.WindowModel` planner) the
    model is compiled once, when the policy is made, and only updated each step; without,
    ``plan`` builds and solves it cold every step.
    """
    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    config = env.unwrapped.config
    if persistent is not None:
        window_plan = persistent(config, window)
        return MPCPolicy(lambda state: window_plan(state, forecast_series(state)))

    def planner(state: dict[str, Any]) -> Solution:
        return plan(config, state, forecast_series(state), window)

    return MPCPolicy(planner)


def forecast_policies(
    plan: PlanFunction, persistent: WindowPlannerFactory | None = None
) -> tuple[Callable[..., MPCPolicy], Callable[..., ClairvoyantPolicy]]:
    """The ``mpc`` and ``clairvoyant`` policy factories of a problem, for its ``ProblemSpec``.

    ``persistent``: the problem's window model compiled once (:func:`forecast_mpc`); the
    ``mpc`` factory then takes ``warm_start`` (``False``: rebuild and solve cold each step).
    """

    def mpc_policy(env: gym.Env, window: int | None = None, warm_start: bool = True) -> MPCPolicy:
        """Rolling-horizon control on the forecast mean (``window``; ``None``: to the end);
        ``warm_start``: the model updated, not rebuilt, each step (where the problem has one)."""
        return forecast_mpc(plan, env, window, persistent if warm_start else None)

    def clairvoyant_policy(env: gym.Env) -> ClairvoyantPolicy:
        """The perfect-information bound: the episode's realised scenario known in advance."""
        return ClairvoyantPolicy(plan)

    return mpc_policy, clairvoyant_policy
