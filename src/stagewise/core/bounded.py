"""Repairs of physical decisions into their feasible set, and what each repair costs.

The SafeOR-Gym environments do not reject an infeasible decision: they repair
it (clip a dispatch into its ramp window, truncate an addition at a capacity,
force a unit on) and charge the repair as constraint cost. These batched
helpers give every problem the same arithmetic: a violation is the distance
beyond a limit, and a violation within a numerical tolerance is not one (an
optimizer's plan is feasible only up to the solver's tolerance and travels
through float32 actions).
"""

from __future__ import annotations

import numpy as np

# Absolute tolerance (in the decision's physical unit) below which a violation is noise:
# float32 actions resolve about 6e-8 of their range, solvers are feasible to about 1e-6.
DEFAULT_TOL = 1e-5
# 0-d arrays rather than Python floats: NumPy converts a Python float again at every operation.
_ZERO = np.zeros(())


def excess(value: np.ndarray, limit: np.ndarray | float, tol: float = DEFAULT_TOL) -> np.ndarray:
    """``max(value - limit, 0)``, with amounts ``<= tol`` counted as 0."""
    over = np.asarray(np.subtract(value, limit, dtype=np.float64))  # a fresh array
    if tol < 0:
        over = np.maximum(over, 0.0)
    # In place on the fresh difference: cheaper than max + where for the small arrays of a
    # step; "not above tol" (rather than "<= tol") also zeroes NaN, as max + where did.
    # tol as a 0-d array: NumPy converts a Python float again at every comparison.
    over[~(over > np.asarray(tol, dtype=np.float64))] = 0.0
    return over


def clip_with_excess(
    value: np.ndarray,
    low: np.ndarray | float,
    high: np.ndarray | float,
    tol: float = DEFAULT_TOL,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip ``value`` into ``[low, high]``.

    Returns:
        The clipped value, the amount above ``high`` and the amount below
        ``low`` (each 0 where within ``tol``). Where ``low > high`` the upper
        limit wins, as in a ramp window that a shutdown has closed.
    """
    above = excess(value, high, tol)
    below = excess(low, value, tol)
    clipped = np.minimum(np.maximum(value, low), high)
    return clipped, above, below


def l0_l2_penalty(
    violation: np.ndarray, fixed: float, quadratic: float, tol: float = DEFAULT_TOL
) -> np.ndarray:
    """SafeOR-Gym L0+L2 penalty: ``fixed + quadratic * violation**2`` where ``violation > tol``."""
    violation = np.asarray(violation, dtype=np.float64)
    fixed, quadratic = np.asarray(fixed, dtype=np.float64), np.asarray(quadratic, dtype=np.float64)
    above = violation > np.asarray(tol, dtype=np.float64)
    return np.where(above, fixed + quadratic * violation**2, _ZERO)


def truncate_at_capacity(
    addition: np.ndarray, stock: np.ndarray, capacity: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``addition`` so that ``stock + addition <= capacity``.

    Returns the admitted addition and the overshoot ``stock + addition - capacity``
    (0 where there is none) before the cut.
    """
    overshoot = np.maximum(stock + addition - capacity, _ZERO)
    return addition - overshoot, overshoot
