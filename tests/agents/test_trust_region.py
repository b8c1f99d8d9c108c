"""Conjugate gradient, Fisher-vector products and the backtracking line search."""

import torch

from stagewise.agents.common.trust_region import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_vector_product,
)


def test_conjugate_gradient_solves_spd_system():
    a = torch.tensor([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], dtype=torch.float64)
    b = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    x = conjugate_gradient(lambda v: a @ v, b, iters=10)
    torch.testing.assert_close(x, torch.linalg.solve(a, b))


def test_fisher_vector_product_is_kl_hessian_plus_damping():
    theta = torch.nn.Parameter(torch.tensor([0.3, -0.2]))
    sigma = 0.5
    # KL between N(theta0, sigma^2) and N(theta, sigma^2): Hessian I / sigma^2
    fvp = fisher_vector_product(
        lambda: 0.5 * ((theta - 0.1) ** 2).sum() / sigma**2, [theta], damping=0.1
    )
    v = torch.tensor([1.0, 2.0])
    torch.testing.assert_close(fvp(v), v / sigma**2 + 0.1 * v)


def test_line_search_returns_first_accepted_fraction():
    tried = []

    def accept(fraction):
        tried.append(fraction)
        return fraction < 0.6

    assert backtracking_line_search(accept, max_backtracks=10, decay=0.5) == 0.5
    assert tried == [1.0, 0.5]
    assert backtracking_line_search(lambda f: False, max_backtracks=3) is None
