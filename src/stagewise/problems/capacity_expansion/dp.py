"""Exact stochastic dynamic programming for capacity expansion (Giahi et al., Eqs. 8 and 10).

Bellman recursion over the stage ``t``, the price ``p_t``, the demand ``d_t``
(Eq. 10 only) and the installed capacity ``C_{t-1}`` in {0, ..., K}:

    V_t(p, d, C) = max_{0 <= x <= K - C}  r_t(p, d, C + x, x) + W_t(p, d, C + x)
    W_t(p, d, C') = E[V_{t+1}(p exp(xi_1), d exp(xi_2), C')],   W_T = 0,

with ``r_t`` the env's stage reward (the discounted Eq. 10 summand) and
independent ``xi_k ~ N(mu_k, sigma_k)``. ``V_t`` lives on a per-stage grid of
price (and demand) nodes; ``W_t`` on the same nodes is the exact expectation
of the piecewise-(bi)linear interpolant of ``V_{t+1}`` (see :mod:`.grid`), a
product ``M_p V M_d^T`` because the shocks are independent. The optimal
expected profit is ``V_1(p_1, d_1, 0)``; ``p_1, d_1`` are grid nodes.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

from stagewise.core.config import load_config
from stagewise.core.solve import Solution
from stagewise.problems.capacity_expansion.baselines import StatePolicy
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig
from stagewise.problems.capacity_expansion.env import CapacityExpansionDynamics
from stagewise.problems.capacity_expansion.grid import (
    Quadrature,
    interpolation_weights,
    stage_nodes,
    transition_matrix,
)

DEFAULT_PRICE_NODES = 401
DEFAULT_DEMAND_NODES = 401
DEFAULT_WIDTH = 6.0
THRESHOLD_DEMAND_Z = np.linspace(-2.0, 2.0, 9)


class CapacityDPPolicy(StatePolicy):
    """The DP's optimal policy: ``x_t = argmax_x r_t + W_t`` at any state.

    ``W_t`` (smooth: an expectation) is interpolated bilinearly between grid
    nodes; ``r_t`` is evaluated exactly, so decision thresholds are sharp.
    Works in any action mode of :class:`CapacityExpansionEnv` (it encodes the
    physical decision ``{"units": x}``).
    """

    def __init__(
        self,
        config: CapacityExpansionConfig,
        price_grids: list[np.ndarray],
        demand_grids: list[np.ndarray],
        continuation: list[np.ndarray],
    ):
        super().__init__(config)
        self.price_grids = price_grids
        self.demand_grids = demand_grids
        self.continuation = continuation
        self._dynamics = CapacityExpansionDynamics(config)

    # ------------------------------------------------------------ batched
    def q_values(
        self, t: int, price: np.ndarray, demand: np.ndarray, capacity: np.ndarray
    ) -> np.ndarray:
        """``[N, K+1]`` values of adding ``x = 0..K`` units at stage ``t`` (``-inf`` if infeasible).

        ``price`` and ``demand`` in physical units (``demand`` is ignored by
        Eq. 8), ``capacity`` = ``C_{t-1}`` (installed units before stage ``t``).
        """
        c = self.config
        if not 1 <= t <= c.T:
            raise ValueError(f"stage t must be in 1..{c.T}, got {t}")
        price = np.atleast_1d(np.asarray(price, dtype=np.float64))
        demand = np.broadcast_to(np.asarray(demand, dtype=np.float64), price.shape)
        installed = np.rint(np.broadcast_to(np.asarray(capacity, dtype=np.float64), price.shape))
        if np.any((installed < 0) | (installed > c.K)):
            raise ValueError(f"capacity must lie in 0..{c.K}")
        future = self._continuation_at(t, price, demand)  # [K+1, N]
        rows = np.arange(price.size)
        q = np.full((price.size, c.K + 1), -np.inf)
        for x in range(c.K + 1):
            after = installed + x
            feasible = after <= c.K
            reward = self._stage_reward(t, price, demand, after, x)
            value = reward + future[np.minimum(after, c.K).astype(np.int64), rows]
            q[:, x] = np.where(feasible, value, -np.inf)
        return q

    def decide(
        self, t: int, price: np.ndarray, demand: np.ndarray, capacity: np.ndarray
    ) -> np.ndarray:
        """Optimal units ``x_t`` (int array) for a batch of states at stage ``t``; ties -> fewer."""
        return np.argmax(self.q_values(t, price, demand, capacity), axis=1)

    def _stage_reward(
        self, t: int, price: np.ndarray, demand: np.ndarray, after: np.ndarray, units: int
    ) -> np.ndarray:
        terms = self._dynamics.stage_profit(
            np.asarray(float(t)), price, demand, after, np.asarray(float(units))
        )
        return terms["revenue"] + terms["operating"] + terms["investment"]

    def _continuation_at(self, t: int, price: np.ndarray, demand: np.ndarray) -> np.ndarray:
        """``W_t(p, d, C')`` for every ``C'``, bilinear between nodes: ``[K+1, N]``."""
        table = self.continuation[t - 1]
        ip, wp0, wp1 = interpolation_weights(self.price_grids[t - 1], price)
        if self.config.uncertainty == "price":
            id_, wd0, wd1 = interpolation_weights(self.demand_grids[t - 1], np.zeros_like(price))
        else:
            id_, wd0, wd1 = interpolation_weights(self.demand_grids[t - 1], demand)
        jp = np.minimum(ip + 1, table.shape[1] - 1)
        jd = np.minimum(id_ + 1, table.shape[2] - 1)
        return wp0 * (wd0 * table[:, ip, id_] + wd1 * table[:, ip, jd]) + wp1 * (
            wd0 * table[:, jp, id_] + wd1 * table[:, jp, jd]
        )


def solve(
    config: Any = None,
    *,
    price_nodes: int = DEFAULT_PRICE_NODES,
    demand_nodes: int = DEFAULT_DEMAND_NODES,
    width: float = DEFAULT_WIDTH,
    quadrature: Quadrature = "exact",
    time_limit: float | None = None,
    **overrides: Any,
) -> Solution:
    """Optimal expected profit and policy of Eq. 8 / Eq. 10 by backward induction.

    Args:
        config: anything :func:`load_config` accepts for :class:`CapacityExpansionConfig`.
        price_nodes: odd number of price nodes per stage (log-spaced).
        demand_nodes: odd number of demand nodes per stage (Eq. 10 only).
        width: half-width of each stage's grid, in standard deviations of ``log p_t``
            (``log d_t``); beyond it the value is extended linearly.
        quadrature: ``"exact"`` (closed-form integral of the interpolant against
            the lognormal) or an integer number of Gauss-Hermite points (2..200).
        time_limit: seconds; if exceeded the solve stops with status ``"time_limit"``.
        **overrides: config fields (e.g. ``T=4, K=3``).

    Returns:
        :class:`Solution` with ``objective`` = optimal expected profit (sum of the
        env's rewards), ``policy`` = :class:`CapacityDPPolicy`, and ``details``
        holding grid sizes, the first-stage decision and the price thresholds.
    """
    cfg = load_config(CapacityExpansionConfig, config, overrides)
    _check_options(price_nodes, demand_nodes, width, quadrature, time_limit)
    start = time.perf_counter()
    has_demand = cfg.uncertainty == "price_demand"
    price_grids = [
        stage_nodes(cfg.p1, cfg.mu1, cfg.sigma1, t, price_nodes, width) for t in _stages(cfg)
    ]
    if has_demand:
        demand_grids = [
            stage_nodes(cfg.d1, cfg.mu2, cfg.sigma2, t, demand_nodes, width) for t in _stages(cfg)
        ]
    else:
        demand_grids = [np.array([np.inf]) for _ in _stages(cfg)]
    dynamics = CapacityExpansionDynamics(cfg)
    capacity = np.arange(cfg.K + 1, dtype=np.float64)
    continuation: list[np.ndarray] = [np.empty(0)] * cfg.T
    value_next: np.ndarray | None = None
    value = np.empty(0)
    for t in range(cfg.T, 0, -1):
        if time_limit is not None and time.perf_counter() - start > time_limit:
            return Solution(float("nan"), "time_limit", time.perf_counter() - start)
        prices, demands = price_grids[t - 1], demand_grids[t - 1]
        if value_next is None:
            future = np.zeros((cfg.K + 1, prices.size, demands.size))
        else:
            m_price = transition_matrix(prices, price_grids[t], cfg.mu1, cfg.sigma1, quadrature)
            m_demand = (
                transition_matrix(demands, demand_grids[t], cfg.mu2, cfg.sigma2, quadrature)
                if has_demand
                else np.ones((1, 1))
            )
            future = m_price @ value_next @ m_demand.T
        continuation[t - 1] = future
        value = _bellman_max(dynamics, t, prices, demands, capacity, future)
        value_next = value
    mid_p, mid_d = price_nodes // 2 if cfg.sigma1 > 0 else 0, _middle(cfg, demand_nodes)
    policy = CapacityDPPolicy(cfg, price_grids, demand_grids, continuation)
    first_q = policy.q_values(1, np.array([cfg.p1]), np.array([_start_demand(cfg)]), np.zeros(1))
    details = {
        "method": "backward induction on a log-spaced grid, exact lognormal expectation of the "
        "piecewise-linear value interpolant"
        if quadrature == "exact"
        else f"backward induction, {quadrature}-point Gauss-Hermite quadrature",
        "price_nodes": int(price_grids[0].size),
        "demand_nodes": int(demand_grids[0].size) if has_demand else 0,
        "capacity_levels": cfg.K + 1,
        "stages": cfg.T,
        "width_sd": width,
        "quadrature": quadrature,
        "first_stage_decision": int(np.argmax(first_q[0])),
        "first_stage_q": [float(v) for v in first_q[0]],
        "thresholds": price_thresholds(policy),
    }
    return Solution(
        objective=float(value[0, mid_p, mid_d]),
        status="optimal",
        solve_time=time.perf_counter() - start,
        policy=policy,
        details=details,
    )


def optimal_policy(env: gym.Env, **options: Any) -> CapacityDPPolicy:
    """The DP-optimal policy for ``env.unwrapped.config`` (``options`` go to :func:`solve`)."""
    solution = solve(env.unwrapped.config, **options)
    if solution.policy is None:
        raise RuntimeError(f"the DP did not finish (status {solution.status})")
    return solution.policy


def _stages(cfg: CapacityExpansionConfig) -> range:
    return range(1, cfg.T + 1)


def _middle(cfg: CapacityExpansionConfig, demand_nodes: int) -> int:
    if cfg.uncertainty == "price" or cfg.sigma2 == 0.0:
        return 0
    return demand_nodes // 2


def _start_demand(cfg: CapacityExpansionConfig) -> float:
    return cfg.d1 if cfg.uncertainty == "price_demand" else float("inf")


def _bellman_max(
    dynamics: CapacityExpansionDynamics,
    t: int,
    prices: np.ndarray,
    demands: np.ndarray,
    capacity: np.ndarray,
    future: np.ndarray,
) -> np.ndarray:
    """``V_t[C, i, j] = max_x r_t(p_i, d_j, C + x, x) + W_t[C + x, i, j]``."""
    k_max = capacity.size - 1
    price, demand = prices[:, None], demands[None, :]
    value = np.full(future.shape, -np.inf)
    for installed in range(k_max + 1):
        for units in range(k_max - installed + 1):
            after = installed + units
            terms = dynamics.stage_profit(
                np.asarray(float(t)), price, demand, np.asarray(float(after)), np.asarray(units)
            )
            q = terms["revenue"] + terms["operating"] + terms["investment"] + future[after]
            value[installed] = np.maximum(value[installed], q)
    return value


def _check_options(
    price_nodes: Any, demand_nodes: Any, width: Any, quadrature: Any, time_limit: Any
) -> None:
    for name, n in (("price_nodes", price_nodes), ("demand_nodes", demand_nodes)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 3 or n % 2 == 0:
            raise ValueError(f"{name} must be an odd integer >= 3, got {n!r}")
    if not isinstance(width, int | float) or not np.isfinite(width) or width <= 0:
        raise ValueError(f"width must be a positive number of standard deviations, got {width!r}")
    if quadrature != "exact" and (
        isinstance(quadrature, bool)
        or not isinstance(quadrature, int | np.integer)
        or not 2 <= quadrature <= 200
    ):
        raise ValueError(
            f"quadrature must be 'exact' or a number of Gauss-Hermite points in 2..200, "
            f"got {quadrature!r}"
        )
    if time_limit is not None and (not isinstance(time_limit, int | float) or time_limit <= 0):
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit!r}")


def price_thresholds(
    policy: CapacityDPPolicy, scan_points: int = 801, bisections: int = 60
) -> list[dict[str, Any]]:
    """Smallest price at which the optimal decision adds at least ``units``, per state.

    One row per stage ``t``, installed capacity ``capacity`` = ``C_{t-1}``, level
    ``units`` in 1..K-C and (Eq. 10) ``demand`` on a grid of ``d_t`` quantiles
    (mean of ``log d_t`` plus -2..2 standard deviations; ``None`` for Eq. 8).
    ``status`` is ``"threshold"`` (found by bisection in log-price),
    ``"never"`` (``price_threshold`` None: the decision stays below ``units``
    over the scanned range, the stage grid widened on both sides) or
    ``"always"`` (reached at the scan's lower end, reported as the threshold).
    """
    cfg = policy.config
    rows: list[dict[str, Any]] = []
    for t in _stages(cfg):
        scan = _scan_prices(policy.price_grids[t - 1], scan_points)
        demands = _threshold_demands(policy, t)
        combos = [(d, c) for d in demands for c in range(cfg.K)]
        demand_of = np.array([np.inf if d is None else d for d, _ in combos])
        installed_of = np.array([c for _, c in combos], dtype=np.float64)
        decisions = policy.decide(
            t,
            np.tile(scan, len(combos)),
            np.repeat(demand_of, scan.size),
            np.repeat(installed_of, scan.size),
        ).reshape(len(combos), scan.size)
        pending: list[dict[str, Any]] = []
        for k, (demand, installed) in enumerate(combos):
            for units in range(1, cfg.K - installed + 1):
                row = {"stage": t, "capacity": installed, "demand": demand, "units": units}
                reached = np.flatnonzero(decisions[k] >= units)
                if reached.size == 0:
                    row.update(price_threshold=None, status="never")
                elif reached[0] == 0:
                    row.update(price_threshold=float(scan[0]), status="always")
                else:
                    row.update(price_threshold=(scan[reached[0] - 1], scan[reached[0]]))
                    row.update(status="threshold", _k=k)
                    pending.append(row)
                rows.append(row)
        _bisect(policy, t, pending, demand_of, installed_of, bisections)
    return rows


def _scan_prices(grid: np.ndarray, points: int) -> np.ndarray:
    lo, hi = (grid[0], grid[-1]) if grid.size > 1 else (grid[0] / 4, grid[0] * 4)
    span = np.log(hi / lo)
    return np.exp(np.linspace(np.log(lo) - 0.5 * span, np.log(hi) + 0.25 * span, points))


def _bisect(
    policy: CapacityDPPolicy,
    t: int,
    rows: list[dict[str, Any]],
    demand_of: np.ndarray,
    installed_of: np.ndarray,
    bisections: int,
) -> None:
    """Refine each row's bracketing ``(low, high)`` price pair in place, all rows at once."""
    if not rows:
        return
    combo = np.array([r.pop("_k") for r in rows])
    units = np.array([r["units"] for r in rows])
    lo = np.log([r["price_threshold"][0] for r in rows])
    hi = np.log([r["price_threshold"][1] for r in rows])
    for _ in range(bisections):
        mid = 0.5 * (lo + hi)
        above = policy.decide(t, np.exp(mid), demand_of[combo], installed_of[combo]) >= units
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    for row, h in zip(rows, hi, strict=True):
        row["price_threshold"] = float(np.exp(h))


def _threshold_demands(policy: CapacityDPPolicy, t: int) -> list[float | None]:
    cfg = policy.config
    if cfg.uncertainty == "price":
        return [None]
    center = np.log(cfg.d1) + (t - 1) * cfg.mu2
    spread = cfg.sigma2 * np.sqrt(t - 1)
    return sorted({float(v) for v in np.round(np.exp(center + spread * THRESHOLD_DEMAND_Z), 6)})
