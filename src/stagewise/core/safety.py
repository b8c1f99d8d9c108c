"""Model-based safety layer: project a proposed decision onto one step's constraints.

The copper paper's split, generalised: the agent proposes a physical decision
``x^0`` and an optimization layer returns the nearest decision that satisfies the
constraints of the step about to be taken, given the state ``s``:

.. math::

    \\min_{x, y, e} \\sum_j w_j |x_j - x^0_j| + \\rho \\sum_i (e^-_i + e^+_i)
    \\quad \\text{s.t.} \\quad
    \\ell_i(s) \\le (A [x; y])_i + e^-_i - e^+_i \\le u_i(s),\\;
    l_j(s) \\le x_j \\le h_j(s),\\; e \\ge 0,

with ``x`` the decision columns (some integer), ``y`` auxiliary columns, ``w_j =
1 / scale_j`` (the distance in the decision's own scaling: with ``scale`` the
half-span of the action codec, the L1 distance in normalized action units) and
elastic slacks ``e`` at a penalty ``rho`` that make every state feasible: where no
decision satisfies the rows, the least-violating one comes back (and its
violation is reported). Only the bounds depend on the state; the matrix ``A`` is
fixed, so the solver model is built once and only bounds change per call.

A problem supplies its rows as a :class:`StepConstraints` in
``stagewise/problems/<name>/safety.py`` (a module-level ``step_constraints(dynamics)``);
:class:`SafetyLayer` does the rest.
"""

from __future__ import annotations

import importlib
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np

from stagewise.core.env import ConstrainedEnv, State
from stagewise.core.spaces import Decision, DecisionField

PROJECTION = "projection"
"""The cost family a wrapped environment reports the projection distance in."""


@dataclass(frozen=True)
class ColumnBlock:
    """A named block of LP/MILP columns.

    Attributes:
        name: for a decision block, the key of the decoded decision dict it stands for
            (``Dynamics.transition`` reads it); for an auxiliary block, any name.
        shape: shape of the block without the batch axis (``()`` for a scalar).
        low: static lower bound, broadcastable to ``shape`` (``-np.inf`` allowed).
        high: static upper bound, broadcastable to ``shape`` (``np.inf`` allowed).
        scale: for a decision block, the unit of its distance: moving ``x_j`` by
            ``scale_j`` costs 1 (use the codec's half-span, so the distance is the L1
            distance in normalized action units). ``None`` marks an auxiliary block
            (no distance term).
        integer: whether the block's values must be whole numbers (a MILP then).
    """

    name: str
    shape: tuple[int, ...]
    low: float | np.ndarray
    high: float | np.ndarray
    scale: float | np.ndarray | None = None
    integer: bool = False

    @classmethod
    def of_field(cls, field: DecisionField) -> ColumnBlock:
        """The decision block of a codec field: its bounds, its half-span as the scale
        (the distance is then in normalized action units), integer unless continuous."""
        low, high = field.bounds()
        half_span = 0.5 * (high - low)
        return cls(
            name=field.name,
            shape=field.shape,
            low=low.reshape(field.shape),
            high=high.reshape(field.shape),
            scale=np.where(half_span > 0, half_span, 1.0).reshape(field.shape),
            integer=field.kind != "continuous",
        )

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=int))

    @property
    def is_decision(self) -> bool:
        return self.scale is not None

    def flat(self, value: float | np.ndarray) -> np.ndarray:
        """``value`` broadcast to the block's shape, flattened (length ``size``)."""
        return np.broadcast_to(np.asarray(value, dtype=np.float64), self.shape).ravel().copy()


@dataclass(frozen=True)
class RowBlock:
    """A named block of linear rows ``l(s) <= sum_b A_b x_b <= u(s)``.

    Attributes:
        family: the constraint (cost family) the rows keep at zero, e.g. ``"ramping"``.
        size: number of rows.
        coefficients: column block name -> fixed matrix ``[size, block.size]``.
        weight: the rows' share of the elastic penalty ``rho`` (> 0): where no decision
            satisfies every row, rows of a lower weight give first.
    """

    family: str
    size: int
    coefficients: dict[str, np.ndarray] = dataclass_field(default_factory=dict)
    weight: float = 1.0


@dataclass
class StepBounds:
    """The state-dependent bounds of one batch of steps (``n`` states).

    Attributes:
        row_low, row_high: ``[n, m]`` bounds of the rows (``m`` the total row count, in
            the order of :attr:`StepConstraints.rows`); ``-inf`` / ``inf`` where open.
        col_low, col_high: ``[n, k]`` column bounds (``k`` the total column count, in the
            order of :attr:`StepConstraints.columns`) where they depend on the state, or
            ``None`` for the static bounds. Keep ``col_low <= col_high``: a requirement
            that a state can make impossible belongs in a row, which has slacks.
    """

    row_low: np.ndarray
    row_high: np.ndarray
    col_low: np.ndarray | None = None
    col_high: np.ndarray | None = None


class StepConstraints(ABC):
    """One problem's step constraints as linear rows (what a problem supplies).

    Subclasses set :attr:`columns` (decision blocks, named after the decision dict's
    keys, then auxiliary blocks) and :attr:`rows`, and implement :meth:`bounds`. A
    decision field that has no block keeps the proposal's value.

    The default :meth:`target` and :meth:`decision` read and write the decision dict
    under the blocks' names; a problem whose columns are a transform of the decision
    (unit commitment's dispatch ``u p``) overrides both. :meth:`SafetyLayer.project`
    calls :meth:`bounds` first, then :meth:`target` and :meth:`decision` on the same
    batch, so a transform that depends on the state (blending's purchase ``buy tau^0``)
    may keep what it needs from :meth:`bounds`.
    """

    columns: tuple[ColumnBlock, ...]
    rows: tuple[RowBlock, ...]

    @abstractmethod
    def bounds(self, state: State) -> StepBounds:
        """The bounds of the rows (and columns) in each of the ``n`` states of ``state``."""

    def target(self, proposal: Decision) -> dict[str, np.ndarray]:
        """The proposal's value of each decision block, ``{name: [n, *shape]}``."""
        return {b.name: np.asarray(proposal[b.name], np.float64) for b in self.decision_blocks}

    def decision(self, values: dict[str, np.ndarray], proposal: Decision) -> Decision:
        """The decision dict of solved block values ``{name: [n, *shape]}``: the proposal
        with each decision block replaced."""
        out = dict(proposal)
        for block in self.decision_blocks:
            out[block.name] = values[block.name]
        return out

    @property
    def decision_blocks(self) -> tuple[ColumnBlock, ...]:
        return tuple(b for b in self.columns if b.is_decision)

    @property
    def n_rows(self) -> int:
        return sum(r.size for r in self.rows)


@dataclass
class Projection:
    """The result of one :meth:`SafetyLayer.project` call on ``n`` states.

    Attributes:
        decision: the projected decision ``{name: [n, *shape]}``.
        distance: ``[n]`` weighted L1 distance to the proposal (normalized action units).
        violation: ``[n]`` total row violation left, in the rows' own units (0 where the
            state admits a feasible decision; NaN where the solver gave no solution and the
            proposal was kept).
        seconds: wall time of the call (all ``n`` states together).
        status: ``"optimal"``, or the solver's status where it did not prove optimality.
    """

    decision: Decision
    distance: np.ndarray
    violation: np.ndarray
    seconds: float
    status: str


PENALTY = 1e4
"""Elastic penalty ``rho`` per unit of scaled row violation. Rows are scaled so that a
coefficient times its column's unit is at most 1: a unit of violation then costs more
than moving any one decision across its whole range (2 normalized units) many times."""
SOLVE_SECONDS = 1.0
"""Time limit of one solve, a safety net: a step's LP takes well under a millisecond.
HiGHS's own ``time_limit`` counts the run time of every solve a model has had, so a
layer that lives through a training run would stop solving after its first second; each
solve gets this much beyond the time already run instead."""

SOLVER_OPTIONS: dict[str, Any] = {
    "output_flag": False,
    "primal_feasibility_tolerance": 1e-9,
    "mip_feasibility_tolerance": 1e-9,
    "mip_rel_gap": 1e-6,
    # no "threads": HiGHS has one thread scheduler per process, and a model asking for
    # another thread count than the first solver of the process (Pyomo's, in an
    # evaluation beside the optimum) fails to run at all
    # HiGHS runs feasibility jump before the root LP: about 12 ms on a 5-unit commitment
    # step, where the whole branch and bound takes under 1 ms without it.
    "mip_heuristic_run_feasibility_jump": False,
}
INTEGRALITY_TOL = 1e-7
"""An integer column of the LP relaxation within this of a whole number counts as whole."""
KEEP_TOL = 1e-9
"""A decision column within this of the proposal (the solvers' feasibility tolerance) is the
proposal: a warm-started solve otherwise returns it with noise of 1e-17 that depends on
the solves before, and the same state and action would give different distances."""
MAX_NODES = 64
"""Branch-and-bound nodes of one copy before HiGHS's MILP takes over."""


class SafetyLayer:
    """Projects proposed decisions onto a problem's step constraints with HiGHS.

    One ``highspy.Highs`` model is built per batch size, block-diagonal over the copies
    of a vector environment, once; each call only changes row and column bounds, so the
    LP restarts from the previous basis. Where the step has integer columns, the batch's
    LP relaxation is solved first: a copy whose relaxed optimum is already whole is
    optimal for the MILP too, and only the other copies go on, one by one, to a
    depth-first branch and bound on the single-copy LP (HiGHS's MILP past
    :data:`MAX_NODES` nodes; one branch and bound over a block-diagonal MILP would
    search all copies' integers in one tree).

    Args:
        constraints: the problem's step constraints.
        penalty: elastic penalty ``rho`` per unit of scaled row violation.
    """

    def __init__(self, constraints: StepConstraints, penalty: float = PENALTY):
        self.constraints = constraints
        self.blocks = constraints.columns
        self.is_mip = any(b.integer for b in self.blocks)
        if not np.isfinite(penalty) or penalty <= 0:
            raise ValueError(f"penalty must be a positive number, got {penalty}")
        self.penalty = float(penalty)
        self._layout()
        self._models: dict[tuple[int, bool], _Model] = {}

    @classmethod
    def for_env(cls, env: Any, **options: Any) -> SafetyLayer:
        """The layer of ``env``'s problem, from ``stagewise/problems/<name>/safety.py``.

        Raises:
            ValueError: the problem supplies no step constraints (naming it).
        """
        base = env.unwrapped if hasattr(env, "unwrapped") else env
        if not isinstance(base, ConstrainedEnv):
            raise ValueError(f"the safety layer needs a stagewise environment, got {base!r}")
        return cls(step_constraints_of(base), **options)

    # ---------------------------------------------------------------- layout
    def _layout(self) -> None:
        """Columns, the fixed matrix, row scales and the distance weights of one copy."""
        blocks, c = self.blocks, self.constraints
        sizes = [b.size for b in blocks]
        self.offsets = dict(zip([b.name for b in blocks], np.cumsum([0, *sizes[:-1]]), strict=True))
        self.k = int(sum(sizes))
        self.low = np.concatenate([b.flat(b.low) for b in blocks])
        self.high = np.concatenate([b.flat(b.high) for b in blocks])
        if np.any(self.low > self.high):
            raise ValueError("a column block has low > high")
        unit = np.concatenate([_unit(b) for b in blocks])
        self.integer = np.concatenate([np.full(b.size, b.integer) for b in blocks])
        decision = [b for b in blocks if b.is_decision]
        self.distance_columns = np.concatenate(
            [self.offsets[b.name] + np.arange(b.size) for b in decision]
        ).astype(np.int64)
        self.weights = 1.0 / np.concatenate([b.flat(b.scale) for b in decision])
        if not np.all(np.isfinite(self.weights) & (self.weights > 0)):
            raise ValueError("every decision block needs a positive, finite scale")
        self.m = c.n_rows
        matrix = np.zeros((self.m, self.k))
        start = 0
        for rows in c.rows:
            for name, coefficients in rows.coefficients.items():
                if name not in self.offsets:
                    raise ValueError(f"row block {rows.family!r} names unknown column {name!r}")
                block = self.blocks[list(self.offsets).index(name)]
                coefficients = np.asarray(coefficients, dtype=np.float64)
                if coefficients.shape != (rows.size, block.size):
                    raise ValueError(
                        f"row block {rows.family!r}: coefficients of {name!r} have shape "
                        f"{coefficients.shape}, expected {(rows.size, block.size)}"
                    )
                column = self.offsets[name]
                matrix[start : start + rows.size, column : column + block.size] += coefficients
            start += rows.size
        reach = np.abs(matrix) * unit[None, :]
        self.row_scale = 1.0 / np.where(reach.max(axis=1, initial=0.0) > 0, reach.max(axis=1), 1.0)
        self.row_weight = np.concatenate([np.full(r.size, float(r.weight)) for r in c.rows] or [[]])
        if not np.all(np.isfinite(self.row_weight) & (self.row_weight > 0)):
            raise ValueError("every row block needs a positive, finite weight")
        self.matrix = matrix * self.row_scale[:, None]

    def _model(self, copies: int, integer: bool) -> _Model:
        """The model of ``copies`` copies (with the integrality of the columns or without)."""
        key = (copies, integer)
        if key not in self._models:
            self._models[key] = _Model(self, copies, integer)
        return self._models[key]

    # ------------------------------------------------------------ projection
    def project(self, state: State, proposal: Decision) -> Projection:
        """The decisions nearest to ``proposal`` (batched ``[n, ...]``) that satisfy the
        step constraints in each state of ``state``; never raises on an infeasible state."""
        start = time.perf_counter()
        bounds = self.constraints.bounds(state)  # first: target() may read what it keeps
        target = self._flat_target(proposal)
        n = target.shape[0]
        row_low = np.asarray(bounds.row_low, np.float64).reshape(n, self.m) * self.row_scale
        row_high = np.asarray(bounds.row_high, np.float64).reshape(n, self.m) * self.row_scale
        col_low = self.low if bounds.col_low is None else np.asarray(bounds.col_low, np.float64)
        col_high = self.high if bounds.col_high is None else np.asarray(bounds.col_high, np.float64)
        col_low = np.broadcast_to(col_low, (n, self.k))
        col_high = np.maximum(np.broadcast_to(col_high, (n, self.k)), col_low)
        bounds_of = (row_low, row_high, col_low, col_high, target)
        x, violation, status = self._model(n, integer=False).solve(*bounds_of)
        if self.is_mip:
            whole = np.rint(x[:, self.integer])
            fractional = np.abs(x[:, self.integer] - whole).max(axis=1) > INTEGRALITY_TOL
            x[:, self.integer] = whole
            for i in np.flatnonzero(fractional):
                x[i], violation[i : i + 1], copy_status = self._branch_and_bound(
                    *(part[i : i + 1] for part in bounds_of)
                )
                status = copy_status if status == "optimal" else status
        kept = x[:, self.distance_columns]
        kept = np.where(np.abs(kept - target) <= KEEP_TOL, target, kept)
        x[:, self.distance_columns] = kept
        distance = np.abs(kept - target) @ self.weights
        values = {
            b.name: x[:, self.offsets[b.name] : self.offsets[b.name] + b.size].reshape(n, *b.shape)
            for b in self.blocks
        }
        decision = self.constraints.decision(values, proposal)
        return Projection(decision, distance, violation, time.perf_counter() - start, status)

    def _branch_and_bound(
        self,
        row_low: np.ndarray,
        row_high: np.ndarray,
        col_low: np.ndarray,
        col_high: np.ndarray,
        target: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """The MILP optimum of one copy by depth-first branch and bound on the single-copy
        LP (a few LP solves of ~0.1 ms where HiGHS's MILP takes several ms to start), with
        HiGHS's MILP as the fallback past :data:`MAX_NODES` nodes."""
        lp = self._model(1, integer=False)
        best: tuple[np.ndarray, np.ndarray] | None = None
        best_objective = np.inf
        stack = [(col_low, col_high)]
        for _ in range(MAX_NODES):
            if not stack:
                return (
                    (*best, "optimal")
                    if best is not None
                    else self._milp(row_low, row_high, col_low, col_high, target)
                )
            low, high = stack.pop()
            x, violation, status = lp.solve(row_low, row_high, low, high, target)
            objective = lp.objective()
            if status != "optimal" or objective >= best_objective - 1e-9:
                continue  # pruned: no better integer point below this node
            values = x[0, self.integer]
            gap = np.abs(values - np.rint(values))
            if gap.max(initial=0.0) <= INTEGRALITY_TOL:
                x[0, self.integer] = np.rint(values)
                best, best_objective = (x[0], violation), objective
                continue
            j = np.flatnonzero(self.integer)[int(np.argmax(gap))]
            down_high, up_low = high.copy(), low.copy()
            down_high[0, j], up_low[0, j] = np.floor(x[0, j]), np.ceil(x[0, j])
            down, up = (low, down_high), (up_low, high)
            # depth first, the nearer side of the fractional value last (explored first)
            stack += [down, up] if x[0, j] - np.floor(x[0, j]) >= 0.5 else [up, down]
        return self._milp(row_low, row_high, col_low, col_high, target)

    def _milp(self, *bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        x, violation, status = self._model(1, integer=True).solve(*bounds)
        return x[0], violation, status

    def _flat_target(self, proposal: Decision) -> np.ndarray:
        """The proposal's values of the distance columns, ``[n, n_distance]``."""
        target = self.constraints.target(proposal)
        parts = []
        for block in self.constraints.decision_blocks:
            value = np.asarray(target[block.name], dtype=np.float64)
            parts.append(value.reshape(value.shape[0] if value.ndim > len(block.shape) else 1, -1))
        return np.concatenate(parts, axis=1)


def _unit(block: ColumnBlock) -> np.ndarray:
    """The unit of each column of ``block`` for row scaling: its scale, else its half-span
    where finite, else 1."""
    if block.scale is not None:
        return block.flat(block.scale)
    span = 0.5 * (block.flat(block.high) - block.flat(block.low))
    return np.where(np.isfinite(span) & (span > 0), span, 1.0)


class _Model:
    """A HiGHS model of ``copies`` block-diagonal copies of one step's projection LP.

    Columns of one copy: ``x`` (``k``), distance parts ``p, q`` (``d`` each), slacks
    ``e^-, e^+`` (``m`` each). Rows: ``A x + e^- - e^+`` in ``[l, u]`` (``m``), then
    ``x_j - p_j + q_j = x^0_j`` (``d``).
    """

    def __init__(self, layer: SafetyLayer, copies: int, integer: bool):
        k, m, d = layer.k, layer.m, layer.distance_columns.size
        self.k, self.m, self.d, self.copies = k, m, d, copies
        self.width, self.height = k + 2 * d + 2 * m, m + d
        one = np.zeros((self.height, self.width))
        one[:m, :k] = layer.matrix
        one[:m, k + 2 * d : k + 2 * d + m] = np.eye(m)
        one[:m, k + 2 * d + m :] = -np.eye(m)
        one[m + np.arange(d), layer.distance_columns] = 1.0
        one[m:, k : k + d] = -np.eye(d)
        one[m:, k + d : k + 2 * d] = np.eye(d)
        cost = np.concatenate(
            [
                np.zeros(k),
                layer.weights,
                layer.weights,
                np.tile(layer.penalty * layer.row_weight, 2),
            ]
        )
        import highspy  # here, so that importing stagewise does not load the solver

        self.optimal = highspy.HighsModelStatus.kOptimal
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.width * copies, self.height * copies
        lp.col_cost_ = np.tile(cost, copies)
        lp.col_lower_ = np.tile(np.concatenate([layer.low, np.zeros(2 * d + 2 * m)]), copies)
        lp.col_upper_ = np.tile(
            np.concatenate([layer.high, np.full(2 * d + 2 * m, np.inf)]), copies
        )
        lp.row_lower_ = np.full(self.height * copies, -np.inf)
        lp.row_upper_ = np.full(self.height * copies, np.inf)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        (
            lp.a_matrix_.start_,
            lp.a_matrix_.index_,
            lp.a_matrix_.value_,
        ) = _block_diagonal_columns(one, copies)
        if integer:
            kinds = np.concatenate([layer.integer, np.zeros(2 * d + 2 * m, dtype=bool)])
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in np.tile(kinds, copies)
            ]
        self.highs = highspy.Highs()
        for option, value in SOLVER_OPTIONS.items():
            self.highs.setOptionValue(option, value)
        self.highs.passModel(lp)
        self.integer = np.tile(layer.integer & integer, (copies, 1))
        self.rows = np.arange(self.height * copies, dtype=np.int32)
        self.x_columns = (np.arange(copies)[:, None] * self.width + np.arange(k)).ravel()
        self.x_columns = self.x_columns.astype(np.int32)
        self.distance_columns = layer.distance_columns
        self.unscale = np.tile(1.0 / layer.row_scale, 2)

    def _kept(self, target: np.ndarray, col_low: np.ndarray, col_high: np.ndarray) -> np.ndarray:
        """The proposal as decision columns (auxiliary ones at their lowest magnitude),
        clipped into the column bounds: what a failed solve returns."""
        x = np.zeros((self.copies, self.k))
        x[:, self.distance_columns] = target
        return np.minimum(np.maximum(x, col_low), col_high)

    def objective(self) -> float:
        """The objective value of the last solve."""
        return float(self.highs.getInfo().objective_function_value)

    def solve(
        self,
        row_low: np.ndarray,
        row_high: np.ndarray,
        col_low: np.ndarray,
        col_high: np.ndarray,
        target: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Decision columns ``[copies, k]``, violation ``[copies]`` and the status."""
        n, h = self.copies, self.highs
        low = np.concatenate([row_low, target], axis=1).ravel()
        high = np.concatenate([row_high, target], axis=1).ravel()
        h.changeRowsBounds(self.rows.size, self.rows, low, high)
        h.changeColsBounds(self.x_columns.size, self.x_columns, col_low.ravel(), col_high.ravel())
        h.setOptionValue("time_limit", h.getRunTime() + SOLVE_SECONDS)
        h.run()
        status = h.getModelStatus()
        if status != self.optimal and h.getInfo().primal_solution_status != 2:
            # No solution at all (a solver failure, not an infeasible state: the slacks make
            # every state feasible): keep the proposal, clipped into the column bounds.
            return self._kept(target, col_low, col_high), np.full(n, np.nan), str(status)
        values = np.asarray(h.getSolution().col_value).reshape(n, self.width)
        x = values[:, : self.k]
        x = np.where(self.integer, np.rint(x), x)
        x = np.minimum(np.maximum(x, col_low), col_high)
        slack = values[:, self.k + 2 * self.d :]
        # in the rows' own units (the model's rows are scaled by row_scale)
        violation = np.maximum(slack, 0.0) @ self.unscale
        name = "optimal" if status == self.optimal else h.modelStatusToString(status)
        return x, violation, name


def _block_diagonal_columns(
    one: np.ndarray, copies: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise sparse arrays (start, index, value) of ``copies`` copies of the dense
    matrix ``one`` along the diagonal."""
    rows, columns = one.shape
    column_of, row_of = np.nonzero(one.T)  # column-major: by column, rows ascending
    values = one[row_of, column_of]
    index = (row_of[None, :] + rows * np.arange(copies)[:, None]).ravel()
    per_column = np.tile(np.bincount(column_of, minlength=columns), copies)
    start = np.concatenate([[0], np.cumsum(per_column)])
    return start.astype(np.int32), index.astype(np.int32), np.tile(values, copies)


def step_constraints_of(env: ConstrainedEnv) -> StepConstraints:
    """``step_constraints(dynamics)`` of ``env``'s problem package (``<package>.safety``).

    Raises:
        ValueError: the problem has no ``safety`` module (naming the problem).
    """
    package = type(env).__module__.rpartition(".")[0]
    try:
        module = importlib.import_module(f"{package}.safety")
    except ModuleNotFoundError as err:
        if err.name != f"{package}.safety":
            raise
        raise ValueError(
            f"{env.slug} has no safety-layer rows yet (no module {package}.safety); "
            f"problems with rows: {', '.join(problems_with_rows())}"
        ) from None
    return module.step_constraints(env.dynamics)


def problems_with_rows() -> list[str]:
    """Slugs of the registered problems that supply step constraints."""
    from stagewise.core.registry import problems

    found = []
    for spec in problems():
        package = spec.env.partition(":")[0].rpartition(".")[0]
        if importlib.util.find_spec(f"{package}.safety") is not None:
            found.append(spec.slug)
    return found
