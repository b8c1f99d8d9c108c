"""The CPO step on 2-D quadratic problems equals the closed-form solution (Achiam et al. 2017)."""

import numpy as np
import pytest
from scipy.optimize import minimize

from stagewise.agents.cpo import cpo_step

H = np.array([[2.0, 0.5], [0.5, 1.0]])
G = np.array([1.0, 0.3])
B = np.array([0.2, 1.0])
DELTA = 0.1


def step(b: np.ndarray, c: np.ndarray):
    b = np.atleast_2d(b)
    hinv = np.linalg.inv(H)
    return cpo_step(hinv @ G, b @ hinv, G, b, np.asarray(c, dtype=float), DELTA)


def closed_form(c: float) -> np.ndarray:
    """Section 6.1 / Appendix 10.2 of the paper, one constraint ``b^T x + c <= 0``."""
    hinv_g, hinv_b = np.linalg.solve(H, G), np.linalg.solve(H, B)
    q, r, s = G @ hinv_g, B @ hinv_g, B @ hinv_b
    if c > 0 and c**2 / s > 2 * DELTA:  # infeasible: recovery step
        return -np.sqrt(2 * DELTA / s) * hinv_b
    trpo = np.sqrt(2 * DELTA / q) * hinv_g
    if B @ trpo + c <= 0:  # constraint inactive: the TRPO step
        return trpo
    lam = np.sqrt((q - r**2 / s) / (2 * DELTA - c**2 / s))
    nu = (r + lam * c) / s
    assert nu >= 0
    return (hinv_g - nu * hinv_b) / lam


@pytest.mark.parametrize("c", [-1.0, 0.05, -0.1])
def test_cpo_step_matches_closed_form(c):
    x, recovery = step(B, [c])
    assert not recovery
    np.testing.assert_allclose(x, closed_form(c), atol=1e-6)
    assert 0.5 * x @ H @ x <= DELTA + 1e-8
    assert B @ x + c <= 1e-7


def test_cpo_step_with_an_active_constraint_leaves_the_trpo_step_for_the_constraint_boundary():
    c = 0.05
    hinv_g = np.linalg.solve(H, G)
    trpo = np.sqrt(2 * DELTA / (G @ hinv_g)) * hinv_g
    assert B @ trpo + c > 0  # the TRPO step would violate the linearized constraint
    x, recovery = step(B, [c])
    assert not recovery
    # the step is not the TRPO step: it sits on both the constraint and the trust-region boundary
    assert np.linalg.norm(x - trpo) > 0.05
    assert B @ x + c == pytest.approx(0.0, abs=1e-7)
    assert 0.5 * x @ H @ x == pytest.approx(DELTA, rel=1e-6)
    # and it still improves the reward surrogate, by less than the TRPO step
    assert 0 < G @ x < G @ trpo
    # every other point of the two boundaries' intersection has a smaller surrogate (2-D: two)
    points = _intersections(c)
    assert min(np.linalg.norm(x - p) for p in points) < 1e-6
    assert all(G @ p <= G @ x + 1e-9 for p in points)


def _intersections(c: float) -> list[np.ndarray]:
    """The points with ``B x + c = 0`` and ``x^T H x / 2 = DELTA`` (a line and an ellipse)."""
    base = -c * B / (B @ B)  # on the line
    direction = np.array([-B[1], B[0]])  # along the line
    # 0.5 (base + t d)^T H (base + t d) = DELTA: a quadratic in t
    a2, a1 = 0.5 * direction @ H @ direction, base @ H @ direction
    a0 = 0.5 * base @ H @ base - DELTA
    roots = np.roots([a2, a1, a0])
    return [base + t.real * direction for t in roots]


def test_cpo_step_with_an_inactive_constraint_is_the_trpo_step():
    hinv_g = np.linalg.solve(H, G)
    trpo = np.sqrt(2 * DELTA / (G @ hinv_g)) * hinv_g
    x, recovery = step(B, [-1.0])
    assert not recovery
    np.testing.assert_allclose(x, trpo, atol=1e-7)


def test_cpo_recovery_step_when_infeasible():
    x, recovery = step(B, [2.0])
    assert recovery
    np.testing.assert_allclose(x, closed_form(2.0), atol=1e-6)


def test_cpo_two_constraints_match_direct_optimization():
    # three parameters, two constraints: the trust region binds at the optimum
    h = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.5]])
    g = np.array([1.0, 0.3, -0.4])
    b = np.array([[0.2, 1.0, 0.3], [1.0, -0.3, 0.5]])
    c = np.array([0.05, 0.1])
    hinv = np.linalg.inv(h)
    x, recovery = cpo_step(hinv @ g, b @ hinv, g, b, c, DELTA)
    assert not recovery
    direct = minimize(
        lambda x: -g @ x,
        np.zeros(3),
        constraints=[
            {"type": "ineq", "fun": lambda x: DELTA - 0.5 * x @ h @ x},
            {"type": "ineq", "fun": lambda x: -(b @ x + c)},
        ],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert direct.success
    np.testing.assert_allclose(x, direct.x, atol=1e-5)


def lbfgs_dual(q, r, s, c, delta):
    """The reference: the dual ``min_{nu >= 0} sqrt(2 delta Q(nu)) - nu^T c`` by L-BFGS-B."""

    def fun(nu):
        quad = q - 2 * r @ nu + nu @ s @ nu
        root = np.sqrt(2 * delta * quad)
        return root - nu @ c, delta * (2 * s @ nu - 2 * r) / root - c

    bounds = [(0.0, None)] * len(c)
    options = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000}
    start = np.zeros(len(c))
    return minimize(fun, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)


@pytest.mark.parametrize("seed", range(6))
def test_dual_by_supports_matches_a_numerical_minimization(seed):
    from stagewise.agents.cpo import dual_multipliers

    rng = np.random.default_rng(seed)
    n, k = 6, 3
    root = rng.normal(size=(n, n))
    h = root @ root.T + np.eye(n)
    g, b = rng.normal(size=n), rng.normal(size=(k, n))
    c = rng.normal(scale=0.1, size=k) - 0.05  # feasible: some constraints active, some not
    hinv = np.linalg.inv(h)
    q, r, s = g @ hinv @ g, b @ hinv @ g, b @ hinv @ b.T
    nu, lam = dual_multipliers(q, r, s, c, DELTA)
    reference = lbfgs_dual(q, r, s, c, DELTA)
    assert nu.min() >= 0
    assert reference.fun >= np.sqrt(2 * DELTA * (q - 2 * r @ nu + nu @ s @ nu)) - nu @ c - 1e-9
    np.testing.assert_allclose(nu, reference.x, atol=1e-5)
    assert lam == pytest.approx(np.sqrt((q - 2 * r @ nu + nu @ s @ nu) / (2 * DELTA)))


def test_a_step_whose_kl_is_nan_is_outside_the_trust_region():
    from stagewise.agents.cpo import within_trust_region

    assert within_trust_region(0.005, 0.01)
    assert not within_trust_region(0.02, 0.01)
    assert not within_trust_region(float("nan"), 0.01)  # `nan > 0.01` is False
    assert not within_trust_region(float("inf"), 0.01)


def test_non_finite_directions_are_detected():
    from stagewise.agents.cpo import finite_directions

    assert finite_directions(np.ones(3), np.zeros((2, 3)))
    assert not finite_directions(np.ones(3), np.array([[0.0, np.nan, 1.0]]))
