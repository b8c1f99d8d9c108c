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

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from stagewise.core.env import State
from stagewise.core.spaces import Decision

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
    """

    family: str
    size: int
    coefficients: dict[str, np.ndarray] = field(default_factory=dict)


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
    (unit commitment's dispatch ``u p``) overrides both.
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
