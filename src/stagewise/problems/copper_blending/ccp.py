"""The lower level: chance-constrained feed LP of one stage (Section 3.3).

Given the stage confidence ``alpha_n``, the stage weight ``w~_n`` and the
inspected melt ``(w_{n-1}, p_{n-1})``, choose the feed vector ``x_{n,2}`` of
least material cost whose blend meets the spec with probability ``alpha_n``
per element and bound.

- :class:`ChanceConstrainedLP` is the linearized form, Eq. 31, built once per
  instance in HiGHS; each call changes only ``z`` (2N coefficients), bounds and
  right-hand sides, and re-solves from the previous basis.
- :func:`solve_socp` is the exact second-order-cone form, Eqs. 26-27 (SCIP),
  for checking the linearization; it is not on the hot path.

Both are *elastic*: every composition row has a non-negative slack (tonnes of
element mass) priced at ``slack_penalty`` per tonne, so a feed vector always
exists. When Eq. 31 is feasible for the request and the penalty exceeds the
rows' dual prices, the slacks are zero and the answer is Eq. 31's optimum;
otherwise the answer is the feed closest to feasibility (least penalized
slack), cheapest among those. The slacks are reported with the feed.

With the auxiliary ``v_i = sum_j sigma_ij x_j`` the rows of Eq. 31 read
``sum_j (mu_ij - U_i) x_j + z v_i - s+_i <= w_{n-1} (U_i - p_{n-1,i})`` and
``sum_j (mu_ij - L_i) x_j - z v_i + s-_i >= w_{n-1} (L_i - p_{n-1,i})``
(``z = Phi^{-1}(alpha_n)``, ``z_{1-alpha} = -z``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.special import ndtri

from stagewise.problems.copper_blending.config import CopperInstance

INF = highspy.kHighsInf
# Feasibility tolerance for the weight row; HiGHS's own primal tolerance is 1e-7.
WEIGHT_TOLERANCE = 1e-7
_BANNER_SHOWN = False


@dataclass(frozen=True)
class Feed:
    """Answer of the lower level for one stage.

    Attributes:
        x: feed vector ``x_{n,2}`` (t per material).
        slack_upper: element mass above the upper chance row (t), per element.
        slack_lower: element mass below the lower chance row (t), per element.
        material_cost: ``C^T x`` (cu), Eq. 8.
        z: ``Phi^{-1}(alpha_n)`` used.
    """

    x: np.ndarray
    slack_upper: np.ndarray
    slack_lower: np.ndarray
    material_cost: float
    z: float

    @property
    def slack(self) -> float:
        """Total slack (t of element mass); 0 when Eq. 31 was feasible."""
        return float(self.slack_upper.sum() + self.slack_lower.sum())


def confidence_quantile(alpha: float, alpha_floor: float = 0.01) -> float:
    """``z = Phi^{-1}(alpha)``, with ``alpha`` clamped to ``[alpha_floor, 1 - alpha_floor]``."""
    return float(ndtri(min(max(alpha, alpha_floor), 1.0 - alpha_floor)))


class ChanceConstrainedLP:
    """Elastic Eq. 31 for one instance, kept in one HiGHS model between calls.

    Columns: ``x`` (M), ``v`` (N), ``s+`` (N), ``s-`` (N). Rows: the N
    definitions of ``v``, the N upper rows, the N lower rows, the weight row.
    """

    def __init__(
        self, instance: CopperInstance, slack_penalty: float = 1e6, alpha_floor: float = 0.01
    ):
        arrays = instance.arrays()
        self.n_elements = len(instance.elements)
        self.n_materials = len(instance.materials)
        self.lower, self.upper = arrays["lower"], arrays["upper"]
        self.price = arrays["price"]
        self.alpha_floor = alpha_floor
        self.slack_penalty = slack_penalty
        self._inventory = arrays["inventory"]
        self._instance = instance
        self._highs = self._load_model()
        n, m = self.n_elements, self.n_materials
        self._x_index = np.arange(m, dtype=np.int32)
        self._row_index = np.arange(n, 3 * n + 1, dtype=np.int32)
        self._zeros_m = np.zeros(m)
        self._z = 0.0

    def _load_model(self) -> highspy.Highs:
        """A HiGHS object holding Eq. 31 at ``z = 0`` (coefficients are updated per call)."""
        highs = _quiet_highs()
        highs.passModel(build_lp(self._instance, self.slack_penalty))
        return highs

    def __getstate__(self) -> dict:
        # A HiGHS object cannot be pickled or deep-copied: a copy of the lower level
        # (pickle, copy.deepcopy) rebuilds it on load. Checkpoints do not copy environments.
        state = self.__dict__.copy()
        del state["_highs"]
        state["_z"] = 0.0
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._highs = self._load_model()

    def solve(
        self,
        alpha: float,
        weight: float,
        melt_weight: float = 0.0,
        melt_composition: np.ndarray | None = None,
        inventory: np.ndarray | None = None,
    ) -> Feed:
        """Cheapest feed of ``weight`` t meeting Eq. 31 at confidence ``alpha`` (elastic).

        Args:
            alpha: stage confidence ``alpha_n`` (clamped to ``[alpha_floor, 1 - alpha_floor]``).
            weight: ``w~_n``, tonnes to feed (``1^T x = w~_n``).
            melt_weight: ``w_{n-1}``, tonnes already in the furnace (0 for open loop).
            melt_composition: ``p_{n-1}``, inspected mass fractions (N); ignored if the
                furnace is empty.
            inventory: ``I_{n-1}`` (t per material); the instance's inventory by default.

        Raises:
            ValueError: ``weight`` is negative or exceeds the available inventory.
        """
        n, m = self.n_elements, self.n_materials
        inv = self._inventory if inventory is None else np.asarray(inventory, dtype=np.float64)
        if not weight >= 0.0 or weight > float(np.sum(inv)) + WEIGHT_TOLERANCE:
            raise ValueError(
                f"stage weight {weight!r} t must be in [0, {float(np.sum(inv)):g}] "
                "(the remaining inventory)"
            )
        z = confidence_quantile(alpha, self.alpha_floor)
        h = self._highs
        if z != self._z:
            for i in range(n):
                h.changeCoeff(n + i, m + i, z)
                h.changeCoeff(2 * n + i, m + i, -z)
            self._z = z
        h.changeColsBounds(m, self._x_index, self._zeros_m, np.maximum(inv, 0.0))
        row_low, row_up = _row_bounds(self.lower, self.upper, weight, melt_weight, melt_composition)
        h.changeRowsBounds(2 * n + 1, self._row_index, row_low, row_up)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # The warm-started simplex rarely ends without a status (seen once in ~50,000
            # re-solves on 20E100M-LH-0; the same request solves cold): retry from scratch.
            h.clearSolver()
            h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS returned {h.modelStatusToString(h.getModelStatus())}")
        return _feed(np.asarray(h.getSolution().col_value), self.price, inv, n, m, z)


def _quiet_highs() -> highspy.Highs:
    h = _construct_highs()
    h.setOptionValue("output_flag", False)
    # Tiny LPs re-solved from a warm basis: presolve costs more than it saves.
    h.setOptionValue("presolve", "off")
    return h


def _construct_highs() -> highspy.Highs:
    """A new ``Highs``; the library prints its banner to fd 1 at the first one, so hide it."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return highspy.Highs()
    _BANNER_SHOWN = True
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout descriptor: nothing to hide
        return highspy.Highs()
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _row_bounds(
    lower: np.ndarray,
    upper: np.ndarray,
    weight: float,
    melt_weight: float,
    melt_composition: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the upper rows, lower rows and weight row (in that order)."""
    n = lower.size
    if melt_weight > 0.0 and melt_composition is not None:
        p = np.asarray(melt_composition, dtype=np.float64)
        up_rhs, lo_rhs = melt_weight * (upper - p), melt_weight * (lower - p)
    else:
        up_rhs, lo_rhs = np.zeros(n), np.zeros(n)
    row_low = np.concatenate([np.full(n, -INF), lo_rhs, [weight]])
    row_up = np.concatenate([up_rhs, np.full(n, INF), [weight]])
    return row_low, row_up


def _feed(
    col_value: np.ndarray, price: np.ndarray, inv: np.ndarray, n: int, m: int, z: float
) -> Feed:
    # Clip solver round-off so the simulator never sees a negative or over-inventory feed.
    x = np.clip(col_value[:m], 0.0, np.maximum(inv, 0.0))
    slack_upper = np.maximum(col_value[m + n : m + 2 * n], 0.0)
    slack_lower = np.maximum(col_value[m + 2 * n : m + 3 * n], 0.0)
    return Feed(x, slack_upper, slack_lower, float(price @ x), z)


def build_lp(
    instance: CopperInstance,
    slack_penalty: float,
    z: float = 0.0,
    weight: float = 0.0,
    melt_weight: float = 0.0,
    melt_composition: np.ndarray | None = None,
    inventory: np.ndarray | None = None,
) -> highspy.HighsLp:
    """The whole elastic Eq. 31 as a HiGHS LP (column-wise sparse matrix)."""
    a = instance.arrays()
    mu, sigma, lower, upper = a["mean"], a["std"], a["lower"], a["upper"]
    m, n = mu.shape
    inv = a["inventory"] if inventory is None else np.asarray(inventory, dtype=np.float64)
    lp = highspy.HighsLp()
    lp.num_col_ = m + 3 * n
    lp.num_row_ = 3 * n + 1
    lp.col_cost_ = np.concatenate([a["price"], np.zeros(n), np.full(2 * n, slack_penalty)])
    lp.col_lower_ = np.zeros(m + 3 * n)
    lp.col_upper_ = np.concatenate([np.maximum(inv, 0.0), np.full(3 * n, INF)])
    row_low, row_up = _row_bounds(lower, upper, weight, melt_weight, melt_composition)
    lp.row_lower_ = np.concatenate([np.zeros(n), row_low])
    lp.row_upper_ = np.concatenate([np.zeros(n), row_up])
    starts, rows, values = [0], [], []

    def add_column(entries: list[tuple[int, float]]) -> None:
        for row, value in entries:
            if value != 0.0:
                rows.append(row)
                values.append(value)
        starts.append(len(rows))

    weight_row = 3 * n
    for j in range(m):
        entries = [(i, -sigma[j, i]) for i in range(n)]
        entries += [(n + i, mu[j, i] - upper[i]) for i in range(n)]
        entries += [(2 * n + i, mu[j, i] - lower[i]) for i in range(n)]
        add_column([*entries, (weight_row, 1.0)])
    for i in range(n):
        # v_i: its definition row, and +z / -z in the upper / lower rows.
        add_column([(i, 1.0), (n + i, z), (2 * n + i, -z)])
    for i in range(n):
        add_column([(n + i, -1.0)])
    for i in range(n):
        add_column([(2 * n + i, 1.0)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(rows, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(values, dtype=np.float64)
    return lp


def solve_rebuilt(
    instance: CopperInstance,
    alpha: float,
    weight: float,
    melt_weight: float = 0.0,
    melt_composition: np.ndarray | None = None,
    inventory: np.ndarray | None = None,
    slack_penalty: float = 1e6,
    alpha_floor: float = 0.01,
) -> Feed:
    """Eq. 31 built from scratch in a new HiGHS model: the naive reference for benchmarks."""
    z = confidence_quantile(alpha, alpha_floor)
    lp = build_lp(instance, slack_penalty, z, weight, melt_weight, melt_composition, inventory)
    h = _quiet_highs()
    h.passModel(lp)
    h.run()
    m, n = len(instance.materials), len(instance.elements)
    inv = np.asarray(lp.col_upper_[:m])
    price = np.asarray(lp.col_cost_[:m])
    return _feed(np.asarray(h.getSolution().col_value), price, inv, n, m, z)


def solve_socp(
    instance: CopperInstance,
    alpha: float,
    weight: float,
    melt_weight: float = 0.0,
    melt_composition: np.ndarray | None = None,
    inventory: np.ndarray | None = None,
    slack_penalty: float = 1e6,
) -> Feed:
    """The exact chance constraints, Eqs. 26-27, as an elastic SOCP solved by SCIP.

    ``t_i >= ||(sigma_ij x_j)_j||_2`` replaces the linear ``v_i``; convex only for
    ``alpha >= 0.5`` (``z >= 0``).

    Raises:
        ValueError: ``alpha`` below 0.5 or at/above 1.
    """
    import pyscipopt

    if not 0.5 <= alpha < 1.0:
        raise ValueError(f"the exact SOCP form needs 0.5 <= alpha < 1, got {alpha!r}")
    a = instance.arrays()
    mu, sigma, lower, upper, price = a["mean"], a["std"], a["lower"], a["upper"], a["price"]
    m, n = mu.shape
    inv = a["inventory"] if inventory is None else np.asarray(inventory, dtype=np.float64)
    p = np.zeros(n) if melt_composition is None else np.asarray(melt_composition, float)
    w0 = melt_weight if melt_composition is not None else 0.0
    z = float(ndtri(alpha))
    model = pyscipopt.Model()
    model.hideOutput()
    x = [model.addVar(lb=0.0, ub=max(float(inv[j]), 0.0)) for j in range(m)]
    t = [model.addVar(lb=0.0) for _ in range(n)]
    s_up = [model.addVar(lb=0.0) for _ in range(n)]
    s_lo = [model.addVar(lb=0.0) for _ in range(n)]
    fed = pyscipopt.quicksum(x)
    model.addCons(fed == weight)
    for i in range(n):
        spread = pyscipopt.quicksum((sigma[j, i] * x[j]) ** 2 for j in range(m) if sigma[j, i])
        model.addCons(spread <= t[i] * t[i])
        mass = pyscipopt.quicksum(mu[j, i] * x[j] for j in range(m))
        model.addCons(mass + z * t[i] - s_up[i] <= upper[i] * (w0 + fed) - w0 * p[i])  # Eq. 26
        model.addCons(mass - z * t[i] + s_lo[i] >= lower[i] * (w0 + fed) - w0 * p[i])  # Eq. 27
    model.setObjective(
        pyscipopt.quicksum(price[j] * x[j] for j in range(m))
        + slack_penalty * pyscipopt.quicksum(s_up + s_lo)
    )
    model.optimize()
    if model.getStatus() != "optimal":
        raise RuntimeError(f"SCIP returned {model.getStatus()}")
    col = np.array(
        [model.getVal(v) for v in x]
        + [model.getVal(v) for v in t]
        + [model.getVal(v) for v in s_up]
        + [model.getVal(v) for v in s_lo]
    )
    return _feed(col, price, inv, n, m, z)
