"""The stochastic-programming reference policy ``sp``: rolling two-stage SAA over feeds.

At every stage ``n`` (melt ``w = w_{n-1}``, ``p = p_{n-1}``, inventory ``I = I_{n-1}``,
room left ``R = W - w``) the policy compares two sample-average approximations and
plays the first-stage feed of the cheaper one (a binary choice made by comparing two
LPs, which is the one-binary MILP solved exactly):

**stop** (the final stage now): one feed ``x`` with ``1^T x = R``, ``x <= I``, against
``Q = 200`` draws ``D^d`` of this stage's fractions::

    min  C^T x + C_e R + C_e* w + C_f + (C_v / W) (1/Q) sum_d sum_j (u_dj + l_dj)
    s.t. w p_j + D^d[:, j]^T x - u_dj <= U_j W,   w p_j + D^d[:, j]^T x + l_dj >= L_j W

**continue** (needs a later stage): feed ``x`` now; ``S`` branches draw this stage's
fractions ``A^s``; ``K`` leaves draw the final stage's fractions ``B^k`` (the same ``K``
draws in every branch: they are independent of ``A^s``). The final stage feeds
``y^s = (y_scrap, y_pure^s)``: the noisy scrap part is one feed for all branches, the
zero-variance (pure) materials adapt to branch ``s`` (``recourse="pure"``, the
default); ``recourse="full"`` lets the whole ``y^s`` adapt (more optimistic in sample,
and ``S K N M`` nonzeros instead of about ``(S + K) N M``)::

    min  (C + C_e + C_e*)^T x + 2 C_f + 2 C_e* w + (C + C_e)^T y_scrap
         + (1/S) sum_s [ (C + C_e)^T y_pure^s + (C_v / W) (1/K) sum_k sum_j (u_skj + l_skj) ]
    s.t. e_sj = A^s[:, j]^T x,   f_kj = B^k[:, j]^T y_scrap,
         w p_j + e_sj + f_kj + mu_pure[:, j]^T y_pure^s - u_skj <= U_j W,   ... + l_skj >= L_j W
         1^T x + 1^T y_scrap + 1^T y_pure^s = R,   x + y^s <= I

(``C_e* (w + 1^T x)`` is the holding cost of the second stage.) Each pair of deviation rows
is one ranged row, ``L_j W <= w p_j + D^d[:, j]^T x - u_dj + l_dj <= U_j W``: both slacks
cost, so at most one is positive and it is the Eq. 11 deviation; the dense draw block
appears once instead of twice (half the nonzeros; 0.46 -> 0.20 s median for the stop LP
on 20E100M). The in-sample value of
each LP is optimistic, the more so the fewer draws, so by default (``validate=True``)
the two feeds are compared out of sample: a second, independent draw set values each
feed with the feed fixed, and the cheaper is played. With ``validate=False`` they are
compared with the stop LP solved over the continue LP's ``K`` final draws (the same
draws, so the same optimism); the stop feed played is the ``Q``-draw one. All are LPs
whose matrix depends only on the draws, so each is built once per policy (HiGHS, kept
between calls) and every stage changes only bounds and right-hand sides (melt,
inventory, room left), re-solving from the previous basis, like the lower level.

The draws come from the policy's own generator (seed ``seed``), from the
environment's distribution (:meth:`CopperBlendingDynamics.sample_composition`),
never from the environment's draws: the policy is non-anticipative, and the same
evaluation code runs it with common random numbers. Re-solved at every stage on the
observed melt, the policy may take up to ``T`` stages (rolling horizon); the last
stage can only stop. It needs the environment built with ``control="feed"`` (the
action is the feed itself, the lower level is bypassed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import highspy
import numpy as np
from scipy import sparse

from stagewise.problems.copper_blending.ccp import _quiet_highs

INF = highspy.kHighsInf
# 20 branches suffice on the generated cells; small instances need more (H62, N = 3:
# rho 1.020 at S = 20, 0.969 at S = 100, docs/problems/copper_blending.md)
DEFAULT_SCENARIOS = 20
DEFAULT_LEAVES = 20
DEFAULT_SEED = 7_000_000
DEFAULT_STOP_SAMPLES = 200
# states whose plans a policy keeps for reuse
PLAN_CACHE = 1024


@dataclass(frozen=True)
class StagePlan:
    """The answer of one stage: play ``feed``; ``stop`` if the stop LP was cheaper.

    Attributes:
        stop: whether this stage is the final one.
        feed: ``x_n`` (t per material).
        value: the SAA estimate (cu) of the cost from this stage on, of the chosen option.
        values: SAA value of each option (``stop``, ``continue`` when available).
        seconds: wall time of the stage's solves.
    """

    stop: bool
    feed: np.ndarray
    value: float
    values: dict[str, float]
    seconds: float


def _highs_from(cost, lower, upper, matrix, row_lower, row_upper) -> highspy.Highs:
    csc = sparse.csc_matrix(matrix)
    csc.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = csc.shape[1], csc.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(lower, dtype=np.float64)
    lp.col_upper_ = np.asarray(upper, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    h = _quiet_highs()
    # unlike the small lower level, these LPs (10^5-10^6 nonzeros) gain from presolve:
    # 0.49 + 0.52 s against 0.69 + 0.98 s per stage on 20E100M (S = 20, K = 10)
    h.setOptionValue("presolve", "on")
    h.passModel(lp)
    return h


def _set_feed_bounds(
    h: highspy.Highs, m: int, inventory: np.ndarray, fixed: np.ndarray | None
) -> None:
    """Bounds of the first ``m`` columns (the feed): ``[0, I]``, or ``[x, x]`` for ``fixed``."""
    index = np.arange(m, dtype=np.int32)
    if fixed is None:
        h.changeColsBounds(m, index, np.zeros(m), inventory)
    else:
        x = np.minimum(np.maximum(fixed, 0.0), inventory)
        h.changeColsBounds(m, index, x, x)


def _run(h: highspy.Highs) -> None:
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        h.clearSolver()  # a warm start rarely ends without a status; retry cold
        h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"sp: HiGHS returned {h.modelStatusToString(h.getModelStatus())}")


class StageSAA:
    """The stop and continue SAA LPs of one instance for fixed draws, kept in HiGHS.

    Args:
        instance: the blending instance.
        first: this stage's draws ``A^s`` ``[S, M, N]`` (continue branches).
        final: the final stage's draws ``B^k`` ``[K, M, N]`` (continue leaves).
        stop_draws: this stage's draws ``D^d`` for the stop LP ``[Q, M, N]``.
    """

    def __init__(
        self,
        instance,
        first: np.ndarray,
        final: np.ndarray,
        stop_draws: np.ndarray,
        recourse: str = "pure",
    ):
        if recourse not in {"pure", "full"}:
            raise ValueError(f"recourse must be 'pure' or 'full', got {recourse!r}")
        a = instance.arrays()
        self.recourse = recourse
        # zero-variance (pure) materials: their fractions are known, so in the "pure"
        # recourse only they adapt to the branch; the noisy scrap of the final stage is
        # one feed for every branch
        self.pure = np.flatnonzero(a["std"].sum(axis=1) == 0.0)
        self.scrap = np.flatnonzero(a["std"].sum(axis=1) > 0.0)
        self.instance = instance
        self.lower, self.upper, self.price = a["lower"], a["upper"], a["price"]
        self.n_materials, self.n_elements = a["mean"].shape
        self.S, self.K, self.Q = first.shape[0], final.shape[0], stop_draws.shape[0]
        self.draws = {"first": first, "final": final, "stop": stop_draws}
        self._stop = self._build_stop(stop_draws)
        # the stop LP over the continue LP's K final draws: its value is as optimistic as
        # the continue LP's (same draws), so the two compare fairly; its feed is not played
        self._stop_same = self._build_stop(final)
        if recourse == "pure":
            self._continue = self._build_continue_pure(first, final)
        else:
            self._continue = self._build_continue(first, final)

    # ------------------------------------------------------------------ build
    def _build_stop(self, draws: np.ndarray) -> highspy.Highs:
        inst, m, n, q = self.instance, self.n_materials, self.n_elements, draws.shape[0]
        # columns: x (M), u (Q N), l (Q N); rows: deviation (Q N, ranged), weight
        mass = sparse.csr_matrix(draws.transpose(0, 2, 1).reshape(q * n, m))
        eye = sparse.identity(q * n, format="csr")
        matrix = sparse.vstack(
            [
                sparse.hstack([mass, -eye, eye]),
                sparse.hstack([np.ones((1, m)), sparse.csr_matrix((1, 2 * q * n))]),
            ]
        )
        unit = inst.C_v / inst.W / q
        cost = np.concatenate([self.price + inst.C_e, np.full(2 * q * n, unit)])
        lower = np.zeros(m + 2 * q * n)
        upper = np.concatenate([np.full(m, INF), np.full(2 * q * n, INF)])
        rows = q * n + 1
        return _highs_from(cost, lower, upper, matrix, np.full(rows, -INF), np.full(rows, INF))

    def _build_continue(self, first: np.ndarray, final: np.ndarray) -> highspy.Highs:
        inst, m, n, s, k = self.instance, self.n_materials, self.n_elements, self.S, self.K
        # columns: x (M), e (S N), y (S M), u (S K N), l (S K N)
        n_e, n_y, n_u = s * n, s * m, s * k * n
        # e rows: A^s[:, j]^T x - e_sj = 0
        e_rows = sparse.hstack(
            [
                sparse.csr_matrix(first.transpose(0, 2, 1).reshape(s * n, m)),
                -sparse.identity(n_e),
                sparse.csr_matrix((n_e, n_y + 2 * n_u)),
            ]
        )
        # leaf rows (s, k, j): e_sj + B^k[:, j]^T y^s -/+ slack
        final_t = final.transpose(0, 2, 1)  # [K, N, M]
        leaf_e = sparse.kron(sparse.identity(s), np.ones((k, 1)))  # picks branch s
        leaf_e = sparse.kron(leaf_e, sparse.identity(n))  # [S K N, S N]
        leaf_y = sparse.block_diag([sparse.csr_matrix(final_t.reshape(k * n, m))] * s)
        eye = sparse.identity(n_u)
        leaf_rows = sparse.hstack([sparse.csr_matrix((n_u, m)), leaf_e, leaf_y, -eye, eye])
        # weight rows: 1^T x + 1^T y^s = R; inventory rows: x + y^s <= I
        weight_rows = sparse.hstack(
            [
                np.ones((s, m)),
                sparse.csr_matrix((s, n_e)),
                sparse.kron(sparse.identity(s), np.ones((1, m))),
                sparse.csr_matrix((s, 2 * n_u)),
            ]
        )
        inventory_rows = sparse.hstack(
            [
                sparse.vstack([sparse.identity(m)] * s),
                sparse.csr_matrix((s * m, n_e)),
                sparse.identity(n_y),
                sparse.csr_matrix((s * m, 2 * n_u)),
            ]
        )
        matrix = sparse.vstack([e_rows, leaf_rows, weight_rows, inventory_rows])
        cost = np.concatenate(
            [
                self.price + inst.C_e + inst.C_e_star,
                np.zeros(n_e),
                np.tile(self.price + inst.C_e, s) / s,
                np.full(2 * n_u, inst.C_v / inst.W / (s * k)),
            ]
        )
        lower = np.concatenate([np.zeros(m), np.full(n_e, -INF), np.zeros(n_y + 2 * n_u)])
        upper = np.full(m + n_e + n_y + 2 * n_u, INF)
        rows = matrix.shape[0]
        row_lower, row_upper = np.full(rows, -INF), np.full(rows, INF)
        row_lower[:n_e] = row_upper[:n_e] = 0.0
        return _highs_from(cost, lower, upper, matrix, row_lower, row_upper)

    def _build_continue_pure(self, first: np.ndarray, final: np.ndarray) -> highspy.Highs:
        inst, m, n, s, k = self.instance, self.n_materials, self.n_elements, self.S, self.K
        mean = inst.arrays()["mean"]
        pure, scrap = self.pure, self.scrap
        n_p, n_s = pure.size, scrap.size
        # columns: x (M), e (S N), ys (scrap), f (K N), yp (S P), u (S K N), l (S K N)
        n_e, n_f, n_yp, n_u = s * n, k * n, s * n_p, s * k * n
        n_cols = m + n_e + n_s + n_f + n_yp + 2 * n_u

        def block(parts: list) -> sparse.csr_matrix:
            return sparse.hstack(parts, format="csr")

        def zeros(rows: int, cols: int) -> sparse.csr_matrix:
            return sparse.csr_matrix((rows, cols))

        e_rows = block(
            [
                sparse.csr_matrix(first.transpose(0, 2, 1).reshape(s * n, m)),
                -sparse.identity(n_e),
                zeros(n_e, n_s + n_f + n_yp + 2 * n_u),
            ]
        )
        f_rows = block(
            [
                zeros(n_f, m + n_e),
                sparse.csr_matrix(final[:, scrap, :].transpose(0, 2, 1).reshape(k * n, n_s)),
                -sparse.identity(n_f),
                zeros(n_f, n_yp + 2 * n_u),
            ]
        )
        leaf_e = sparse.kron(sparse.kron(sparse.identity(s), np.ones((k, 1))), sparse.identity(n))
        leaf_f = sparse.kron(np.ones((s, 1)), sparse.identity(n_f))
        leaf_p = sparse.kron(
            sparse.identity(s), sparse.kron(np.ones((k, 1)), sparse.csr_matrix(mean[pure].T))
        )
        eye = sparse.identity(n_u)
        leaf_rows = block([zeros(n_u, m), leaf_e, zeros(n_u, n_s), leaf_f, leaf_p, -eye, eye])
        weight_rows = block(
            [
                np.ones((s, m)),
                zeros(s, n_e),
                np.ones((s, n_s)),
                zeros(s, n_f),
                sparse.kron(sparse.identity(s), np.ones((1, n_p))),
                zeros(s, 2 * n_u),
            ]
        )
        pick = sparse.identity(m, format="csr")
        scrap_rows = block(
            [pick[scrap], zeros(n_s, n_e), sparse.identity(n_s), zeros(n_s, n_f + n_yp + 2 * n_u)]
        )
        pure_rows = block(
            [
                sparse.vstack([pick[pure]] * s),
                zeros(n_yp, n_e + n_s + n_f),
                sparse.identity(n_yp),
                zeros(n_yp, 2 * n_u),
            ]
        )
        matrix = sparse.vstack([e_rows, f_rows, leaf_rows, weight_rows, scrap_rows, pure_rows])
        cost = np.concatenate(
            [
                self.price + inst.C_e + inst.C_e_star,
                np.zeros(n_e),
                self.price[scrap] + inst.C_e,
                np.zeros(n_f),
                np.tile(self.price[pure] + inst.C_e, s) / s,
                np.full(2 * n_u, inst.C_v / inst.W / (s * k)),
            ]
        )
        lower = np.zeros(n_cols)
        lower[m : m + n_e] = -INF
        lower[m + n_e + n_s : m + n_e + n_s + n_f] = -INF
        rows = matrix.shape[0]
        row_lower, row_upper = np.full(rows, -INF), np.full(rows, INF)
        row_lower[: n_e + n_f] = row_upper[: n_e + n_f] = 0.0
        return _highs_from(cost, lower, np.full(n_cols, INF), matrix, row_lower, row_upper)

    def _bounds_continue_pure(
        self, w: float, p: np.ndarray, inventory: np.ndarray
    ) -> tuple[int, np.ndarray, np.ndarray]:
        inst, n, s, k = self.instance, self.n_elements, self.S, self.K
        room = max(inst.W - w, 0.0)
        melt = w * np.asarray(p, dtype=np.float64) if w > 0.0 else np.zeros(n)
        up = np.tile(self.upper * inst.W - melt, s * k)
        lo = np.tile(self.lower * inst.W - melt, s * k)
        row_lower = np.concatenate(
            [lo, np.full(s, room), np.full(self.scrap.size + s * self.pure.size, -INF)]
        )
        row_upper = np.concatenate(
            [
                up,
                np.full(s, room),
                inventory[self.scrap],
                np.tile(inventory[self.pure], s),
            ]
        )
        return s * n + k * n, row_lower, row_upper

    # ------------------------------------------------------------------ solve
    def solve_stop(
        self,
        w: float,
        p: np.ndarray,
        inventory: np.ndarray,
        same_draws: bool = False,
        fixed: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """SAA value (cu, from this stage on) and feed of stopping now (over the ``Q``
        stop draws, or over the continue LP's ``K`` final draws if ``same_draws``);
        ``fixed``: the value of that feed instead of the best one."""
        inst, m, n = self.instance, self.n_materials, self.n_elements
        q = self.K if same_draws else self.Q
        h = self._stop_same if same_draws else self._stop
        room = max(inst.W - w, 0.0)
        melt = w * np.asarray(p, dtype=np.float64) if w > 0.0 else np.zeros(n)
        up = np.tile(self.upper * inst.W - melt, q)
        lo = np.tile(self.lower * inst.W - melt, q)
        rows = q * n + 1
        row_lower = np.concatenate([lo, [room]])
        row_upper = np.concatenate([up, [room]])
        h.changeRowsBounds(rows, np.arange(rows, dtype=np.int32), row_lower, row_upper)
        _set_feed_bounds(h, m, np.maximum(inventory, 0.0), fixed)
        _run(h)
        x = np.asarray(h.getSolution().col_value[:m])
        value = h.getInfo().objective_function_value + inst.C_f + inst.C_e_star * w
        return float(value), np.clip(x, 0.0, np.maximum(inventory, 0.0))

    def solve_continue(
        self, w: float, p: np.ndarray, inventory: np.ndarray, fixed: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """SAA value (cu, from this stage on) and first-stage feed of one more stage
        (``fixed``: the value of that first-stage feed instead of the best one)."""
        inst, m, n, s, k = self.instance, self.n_materials, self.n_elements, self.S, self.K
        h = self._continue
        if self.recourse == "pure":
            inv = np.maximum(inventory, 0.0)
            start, row_lower, row_upper = self._bounds_continue_pure(w, p, inv)
            rows = row_lower.size
            h.changeRowsBounds(
                rows, np.arange(start, start + rows, dtype=np.int32), row_lower, row_upper
            )
            _set_feed_bounds(h, m, inv, fixed)
            _run(h)
            x = np.asarray(h.getSolution().col_value[:m])
            value = h.getInfo().objective_function_value + 2 * inst.C_f + 2 * inst.C_e_star * w
            return float(value), np.clip(x, 0.0, inv)
        n_e, n_u = s * n, s * k * n
        room = max(inst.W - w, 0.0)
        melt = w * np.asarray(p, dtype=np.float64) if w > 0.0 else np.zeros(n)
        inv = np.maximum(inventory, 0.0)
        up = np.tile(self.upper * inst.W - melt, s * k)
        lo = np.tile(self.lower * inst.W - melt, s * k)
        start = n_e
        rows = n_u + s + s * m
        row_lower = np.concatenate([lo, np.full(s, room), np.full(s * m, -INF)])
        row_upper = np.concatenate([up, np.full(s, room), np.tile(inv, s)])
        index = np.arange(start, start + rows, dtype=np.int32)
        h.changeRowsBounds(rows, index, row_lower, row_upper)
        _set_feed_bounds(h, m, inv, fixed)
        _run(h)
        x = np.asarray(h.getSolution().col_value[:m])
        value = h.getInfo().objective_function_value + 2 * inst.C_f + 2 * inst.C_e_star * w
        return float(value), np.clip(x, 0.0, inv)

    def plan(
        self,
        w: float,
        p: np.ndarray,
        inventory: np.ndarray,
        stages_left: int,
        validation: StageSAA | None = None,
    ) -> StagePlan:
        """Compare stopping now with one more stage (when ``stages_left >= 2``).

        With ``validation`` (the same LPs over independent draws) the two feeds are
        compared by their values there, with the feed fixed: free of the optimism of a
        feed chosen on the same draws.
        """
        start = time.perf_counter()
        values, feeds = {}, {}
        values["stop"], feeds["stop"] = self.solve_stop(w, p, inventory)
        best = "stop"
        if stages_left >= 2:
            values["continue"], feeds["continue"] = self.solve_continue(w, p, inventory)
            if validation is not None:
                values["stop_validation"], _ = validation.solve_stop(
                    w, p, inventory, same_draws=True, fixed=feeds["stop"]
                )
                values["continue_validation"], _ = validation.solve_continue(
                    w, p, inventory, fixed=feeds["continue"]
                )
                if values["continue_validation"] < values["stop_validation"]:
                    best = "continue"
            else:
                # decide on equal terms: both values over the same K final draws
                values["stop_same_draws"], _ = self.solve_stop(w, p, inventory, same_draws=True)
                if values["continue"] < values["stop_same_draws"]:
                    best = "continue"
        return StagePlan(
            stop=best == "stop",
            feed=feeds[best],
            value=values[best],
            values=values,
            seconds=time.perf_counter() - start,
        )


def quantile_draws(dynamics: Any, count: int) -> np.ndarray:
    """``count`` pseudo-draws ``mu + z_k sigma`` at the normal quantiles ``z_k = Phi^-1((k +
    1/2) / count)``: every material at the same quantile (fully correlated, the linear
    spread of Eq. 31), clipped like the environment's draws."""
    from scipy.special import ndtri

    z = ndtri((np.arange(count) + 0.5) / count)
    xi = np.clip(dynamics.mean + z[:, None, None] * dynamics.std, 0.0, 1.0)
    total = xi.sum(axis=2, keepdims=True)
    return np.where(total > 1.0, xi / np.maximum(total, 1e-300), xi)


def draw_scenarios(
    dynamics: Any,
    scenarios: int,
    leaves: int,
    rng: np.random.Generator,
    final_draws: str = "sample",
    stop_samples: int = DEFAULT_STOP_SAMPLES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A, B, D)``: branch, leaf and stop-LP draws from the environment's distribution.

    ``final_draws="quantile"`` replaces the sampled leaf and stop draws by
    :func:`quantile_draws` (no sampling error, a conservative spread).
    """
    first = dynamics.sample_composition(rng, scenarios)
    if final_draws == "quantile":
        return first, quantile_draws(dynamics, leaves), quantile_draws(dynamics, leaves)
    final = dynamics.sample_composition(rng, leaves)
    stop = dynamics.sample_composition(rng, stop_samples)
    return first, final, stop


class StochasticProgrammingPolicy:
    """Rolling two-stage SAA over feeds (module docstring); needs ``control='feed'``.

    A stage's plan is a function of the state ``(n, w, p, I)`` and the policy's fixed
    draws, so a state seen before (every episode starts at ``s_0``) reuses its plan
    instead of re-solving (at most ``PLAN_CACHE`` states are kept). ``stage_seconds``
    collects the wall time of every stage's decision, ``solve_seconds`` that of the
    stages actually solved.
    """

    def __init__(
        self,
        env: gym.Env,
        scenarios: int = DEFAULT_SCENARIOS,
        leaves: int = DEFAULT_LEAVES,
        seed: int = DEFAULT_SEED,
        final_draws: str = "sample",
        recourse: str = "pure",
        validate: bool = True,
    ):
        unwrapped = env.unwrapped
        if unwrapped.config.control != "feed":
            raise ValueError(
                "the sp policy chooses the feeds itself: build the environment with "
                "control='feed' (CLI: --control feed)"
            )
        if scenarios < 1 or leaves < 1:
            raise ValueError(f"scenarios and leaves must be >= 1, got {scenarios}, {leaves}")
        self.scenarios, self.leaves, self.seed = int(scenarios), int(leaves), int(seed)
        self.name = f"sp(S={self.scenarios}, K={self.leaves})"
        rng = np.random.default_rng(self.seed)
        self.saa = StageSAA(
            unwrapped.config.instance,
            *draw_scenarios(unwrapped.dynamics, scenarios, leaves, rng, final_draws),
            recourse=recourse,
        )
        # independent draws on which stop and continue feeds are compared (validate=True)
        self.validation = (
            StageSAA(
                unwrapped.config.instance,
                *draw_scenarios(unwrapped.dynamics, scenarios, leaves, rng, final_draws),
                recourse=recourse,
            )
            if validate
            else None
        )
        self.stage_seconds: list[float] = []
        self.solve_seconds: list[float] = []
        self.plans: list[StagePlan] = []
        self._known: dict[tuple, StagePlan] = {}
        self._env: gym.Env | None = None

    def reset(self, env: gym.Env) -> None:
        self._env = env

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._env is not None, "reset() first"
        unwrapped = self._env.unwrapped
        state = info["state"]
        stages_left = unwrapped.config.instance.T - int(state["stage"])
        start = time.perf_counter()
        w = float(state["weight"])
        p = np.asarray(state["composition"], dtype=np.float64)
        inventory = np.asarray(state["inventory"], dtype=np.float64)
        key = (stages_left, w, p.tobytes(), inventory.tobytes())
        plan = self._known.get(key)
        if plan is None:
            plan = self.saa.plan(w, p, inventory, stages_left, self.validation)
            self.solve_seconds.append(plan.seconds)
            if len(self._known) >= PLAN_CACHE:
                self._known.clear()
            self._known[key] = plan
        self.stage_seconds.append(time.perf_counter() - start)
        self.plans.append(plan)
        return unwrapped.encode({"stop": float(plan.stop), "feed": plan.feed})


def sp(
    env: gym.Env,
    scenarios: int = DEFAULT_SCENARIOS,
    leaves: int = DEFAULT_LEAVES,
    seed: int = DEFAULT_SEED,
    final_draws: str = "sample",
    recourse: str = "pure",
    validate: bool = True,
) -> StochasticProgrammingPolicy:
    """The ``sp`` reference policy (``scenarios`` branches, ``leaves`` final draws each)."""
    return StochasticProgrammingPolicy(
        env, scenarios, leaves, seed, final_draws, recourse, validate
    )


def saa_value(
    env: gym.Env,
    scenarios: int = DEFAULT_SCENARIOS,
    leaves: int = DEFAULT_LEAVES,
    replications: int = 10,
    seed: int = DEFAULT_SEED,
    recourse: str = "pure",
) -> dict[str, float]:
    """In-sample SAA value (cu) at ``s_0`` over ``replications`` independent draw sets.

    The value of one draw set is the cheaper of stop and continue over the same ``K``
    final draws (the SAA of the two-stage look-ahead problem at ``s_0``).

    Returns the mean, its standard error and a 95 % confidence interval (normal),
    and the values of each replication. In-sample SAA values are optimistic (biased
    low) for the two-stage look-ahead problem they approximate.
    """
    unwrapped = env.unwrapped
    inst = unwrapped.config.instance
    dyn = unwrapped.dynamics
    values = []
    for r in range(replications):
        rng = np.random.default_rng(seed + 1000 * r)
        saa = StageSAA(inst, *draw_scenarios(dyn, scenarios, leaves, rng), recourse=recourse)
        plan = saa.plan(0.0, np.zeros(len(inst.elements)), np.asarray(inst.inventory), inst.T)
        # the SAA problem's value: stop and continue over the same draws
        values.append(
            min(
                plan.values.get("continue", np.inf),
                plan.values.get("stop_same_draws", plan.values["stop"]),
            )
        )
    arr = np.asarray(values)
    se = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else float("nan")
    mean = float(arr.mean())
    return {
        "mean": mean,
        "se": se,
        "ci_low": mean - 1.96 * se,
        "ci_high": mean + 1.96 * se,
        "values": values,
    }


# ------------------------------------------------------------------ open loop
class OpenLoopSAA:
    """The best open-loop feed plan: ``L`` stage feeds fixed at ``s_0``, no inspection.

    For each number of stages ``L = 1..T`` one LP over ``Q`` draws ``D^{d,n}`` of every
    stage's fractions (independent across stages, as the environment draws them)::

        min  sum_n (C + C_e + (L - n) C_e*)^T x_n + L C_f
             + (C_v / W) (1/Q) sum_d sum_j (u_dj + l_dj)
        s.t. sum_n D^{d,n}[:, j]^T x_n - u_dj <= U_j W,   ... + l_dj >= L_j W,
             sum_n 1^T x_n = W,   sum_n x_n <= I

    (``x_n`` is held for the ``L - n`` later stages.) The cheapest ``L`` is the plan.
    Splitting a material over stages averages its independent draws, which is how a
    multistage plan pays without inspecting the melt.
    """

    def __init__(self, instance, draws: np.ndarray):
        a = instance.arrays()
        self.instance = instance
        self.draws = draws  # [Q, T, M, N]
        self.price, self.lower, self.upper = a["price"], a["lower"], a["upper"]
        self.inventory = a["inventory"]

    def solve(self, stages: int) -> tuple[float, np.ndarray]:
        """SAA value (cu) and feeds ``[stages, M]`` of the ``stages``-stage plan."""
        inst = self.instance
        q, _, m, n = self.draws.shape
        d = self.draws[:, :stages]  # [Q, L, M, N]
        mass = sparse.csr_matrix(d.transpose(0, 3, 1, 2).reshape(q * n, stages * m))
        eye = sparse.identity(q * n, format="csr")
        inventory_rows = sparse.hstack(
            [sparse.hstack([sparse.identity(m)] * stages), sparse.csr_matrix((m, 2 * q * n))]
        )
        matrix = sparse.vstack(
            [
                sparse.hstack([mass, -eye, eye]),
                sparse.hstack([np.ones((1, stages * m)), sparse.csr_matrix((1, 2 * q * n))]),
                inventory_rows,
            ]
        )
        held = np.repeat(stages - 1 - np.arange(stages), m) * inst.C_e_star
        cost = np.concatenate(
            [
                np.tile(self.price + inst.C_e, stages) + held,
                np.full(2 * q * n, inst.C_v / inst.W / q),
            ]
        )
        cols = stages * m + 2 * q * n
        row_lower = np.concatenate([np.tile(self.lower * inst.W, q), [inst.W], np.full(m, -INF)])
        row_upper = np.concatenate([np.tile(self.upper * inst.W, q), [inst.W], self.inventory])
        h = _highs_from(cost, np.zeros(cols), np.full(cols, INF), matrix, row_lower, row_upper)
        _run(h)
        x = np.asarray(h.getSolution().col_value[: stages * m]).reshape(stages, m)
        value = h.getInfo().objective_function_value + stages * inst.C_f
        return float(value), np.maximum(x, 0.0)

    def plan(self) -> tuple[float, np.ndarray, dict[int, float]]:
        """The cheapest plan over ``L = 1..T``: value, feeds and the value of every ``L``."""
        best, values = None, {}
        for stages in range(1, self.instance.T + 1):
            value, feeds = self.solve(stages)
            values[stages] = value
            if best is None or value < best[0]:
                best = (value, feeds)
        return best[0], best[1], values


class OpenLoopPlanPolicy:
    """Plays the :class:`OpenLoopSAA` plan (the same every episode: ``s_0`` is fixed)."""

    def __init__(self, env: gym.Env, samples: int = 200, seed: int = DEFAULT_SEED):
        unwrapped = env.unwrapped
        if unwrapped.config.control != "feed":
            raise ValueError(
                "the sp-open policy chooses the feeds itself: build the environment with "
                "control='feed' (CLI: --control feed)"
            )
        inst = unwrapped.config.instance
        rng = np.random.default_rng(seed)
        draws = unwrapped.dynamics.sample_composition(rng, samples * inst.T)
        draws = draws.reshape(samples, inst.T, *draws.shape[1:])
        self.saa = OpenLoopSAA(inst, draws)
        self.value, self.feeds, self.values = self.saa.plan()
        self.name = f"sp-open(Q={samples}, L={self.feeds.shape[0]})"
        self._env: gym.Env | None = None
        self._stage = 0

    def reset(self, env: gym.Env) -> None:
        self._env = env
        self._stage = 0

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> Any:
        assert self._env is not None, "reset() first"
        last = self.feeds.shape[0] - 1
        n = min(self._stage, last)
        self._stage += 1
        return self._env.unwrapped.encode({"stop": float(n == last), "feed": self.feeds[n]})


def sp_open(env: gym.Env, samples: int = 200, seed: int = DEFAULT_SEED) -> OpenLoopPlanPolicy:
    """The open-loop ``sp-open`` policy: the best fixed feed plan over ``samples`` draws."""
    return OpenLoopPlanPolicy(env, samples, seed)
