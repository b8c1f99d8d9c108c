"""State grids and lognormal transition matrices for the capacity-expansion DP.

Values are represented by their piecewise-linear interpolant over a grid of
nodes (price or demand, in physical units, spaced evenly in the logarithm),
extended linearly beyond the end nodes. A transition ``X' = X exp(N(mu, sigma))``
then acts on node values as a matrix ``M`` with
``E[V(x_i exp(xi))] = sum_j M[i, j] V_j`` for the interpolant ``V``.

``M`` is built either exactly (the interpolant is integrated against the
lognormal density in closed form, with the normal CDF) or by Gauss-Hermite
quadrature of the interpolant (a cross-check). Linear extension is the right
tail model here: for very low or very high prices the optimal decision no
longer changes, so the value is affine in price (and, in demand, affine or
constant).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

Quadrature = str | int


def stage_nodes(start: float, mu: float, sigma: float, t: int, n: int, width: float) -> np.ndarray:
    """Grid of stage ``t`` for a process ``X_1 = start``, ``X_{t+1} = X_t exp(N(mu, sigma))``.

    ``n`` (odd) nodes evenly spaced in ``log X`` over the mean of ``log X_t``
    plus or minus ``width`` standard deviations; the middle node is the mean.
    Stage 1 uses the spread of stage 2 so that its grid brackets ``start``.
    With ``sigma == 0`` the process is deterministic and the grid is one node.
    """
    center = np.log(start) + (t - 1) * mu
    if sigma == 0.0:
        return np.array([np.exp(center)])
    spread = sigma * np.sqrt(max(t - 1, 1))
    return np.exp(center + spread * np.linspace(-width, width, n))


def interpolation_weights(
    nodes: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left node index and the two weights of the linear interpolant (extended linearly).

    Returns ``(i, w_left, w_right)`` with ``f(x) ~ w_left f[i] + w_right f[i + 1]``;
    outside ``[nodes[0], nodes[-1]]`` the end segment is extended. A one-node grid
    gives the constant ``f[0]`` (``i = 0``, ``w_right = 0``, ``i + 1`` clamped by callers).
    """
    x = np.asarray(x, dtype=np.float64)
    if nodes.size == 1:
        zeros = np.zeros(x.shape, dtype=np.int64)
        return zeros, np.ones(x.shape), np.zeros(x.shape)
    i = np.clip(np.searchsorted(nodes, x, side="right") - 1, 0, nodes.size - 2)
    frac = (x - nodes[i]) / (nodes[i + 1] - nodes[i])
    return i, 1.0 - frac, frac


def interpolation_matrix(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``[len(x), len(nodes)]`` matrix whose product with node values interpolates at ``x``."""
    i, w_left, w_right = interpolation_weights(nodes, x)
    out = np.zeros((x.size, nodes.size))
    rows = np.arange(x.size)
    np.add.at(out, (rows, i), w_left)
    np.add.at(out, (rows, np.minimum(i + 1, nodes.size - 1)), w_right)
    return out


def transition_matrix(
    source: np.ndarray, target: np.ndarray, mu: float, sigma: float, quadrature: Quadrature
) -> np.ndarray:
    """``M[i, j]``: weight of ``target[j]`` in ``E[V(source[i] exp(N(mu, sigma)))]``.

    ``quadrature="exact"`` integrates the interpolant in closed form; an integer
    ``m`` uses ``m``-point Gauss-Hermite quadrature of the interpolant.
    """
    if sigma == 0.0:
        return interpolation_matrix(target, source * np.exp(mu))
    if quadrature == "exact":
        return _exact_transition(source, target, mu, sigma)
    z, w = np.polynomial.hermite.hermgauss(int(quadrature))
    out = np.zeros((source.size, target.size))
    for z_k, w_k in zip(z, w, strict=True):
        shifted = source * np.exp(mu + sigma * np.sqrt(2.0) * z_k)
        out += (w_k / np.sqrt(np.pi)) * interpolation_matrix(target, shifted)
    return out


def _exact_transition(
    source: np.ndarray, target: np.ndarray, mu: float, sigma: float
) -> np.ndarray:
    """Closed-form expectation of each target hat function under the lognormal step.

    For ``P = x exp(N(mu, sigma))``: ``F0(a) = P(P <= a)`` and
    ``F1(a) = E[P; P <= a]`` (lognormal partial moment). Segment ``s`` of the
    interpolant (nodes ``q_s, q_{s+1}``) covers ``(B_s, B_{s+1}]`` with
    ``B = (0, q_1, ..., q_{n-2}, inf)``, which carries the linear extension of
    the end segments out to 0 and infinity.
    """
    if target.size == 1:
        return np.ones((source.size, 1))
    bounds = np.concatenate(([0.0], target[1:-1], [np.inf]))
    with np.errstate(divide="ignore"):
        log_ratio = np.log(bounds[None, :] / source[:, None])
    z = (log_ratio - mu) / sigma
    mean = source[:, None] * np.exp(mu + 0.5 * sigma**2)
    f0 = ndtr(z)
    f1 = mean * ndtr(z - sigma)
    d0 = np.diff(f0, axis=1)
    d1 = np.diff(f1, axis=1)
    left, right = target[:-1], target[1:]
    span = right - left
    out = np.zeros((source.size, target.size))
    out[:, :-1] += (right * d0 - d1) / span
    out[:, 1:] += (d1 - left * d0) / span
    return out
