"""Conjugate gradient, Fisher-vector products and the backtracking line search."""

import numpy as np
import pytest
import torch

from stagewise.agents.common.actor_critic import CategoricalActor, GaussianActor
from stagewise.agents.common.trust_region import (
    FisherProduct,
    backtracking_line_search,
    conjugate_gradient,
    detached_distribution,
    flat_grad,
    mean_kl,
)


def test_conjugate_gradient_solves_spd_system():
    a = torch.tensor([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], dtype=torch.float64)
    b = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    x = conjugate_gradient(lambda v: v @ a, b, iters=10)  # rows [m, n]; a is symmetric
    torch.testing.assert_close(x, torch.linalg.solve(a, b))


def test_conjugate_gradient_solves_several_right_hand_sides_at_once():
    a = torch.tensor([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    calls = []

    def avp(v):
        calls.append(v.shape)
        return v @ a  # a is symmetric: each row times a

    x = conjugate_gradient(avp, b, iters=10)
    torch.testing.assert_close(x, torch.linalg.solve(a, b.T).T)
    assert all(shape == (3, 3) for shape in calls) and len(calls) <= 4  # one product per step


def kl_hessian_product(actor, obs, v, damping):
    """The reference: ``(d^2 KL(pi_old || pi_theta) / d theta^2 + damping I) v`` by autograd."""
    params = list(actor.parameters())
    old = detached_distribution(actor, obs)
    grad = flat_grad(mean_kl(actor, obs, old), params, create_graph=True)
    return flat_grad(grad @ v, params) + damping * v


@pytest.mark.parametrize(
    "actor",
    [
        GaussianActor(5, 3, (8, 6), -0.7),
        GaussianActor(5, 3, (8,), -0.7, bounds=(np.array([-1, 0, 2]), np.array([1, 3, 2.5]))),
        CategoricalActor(5, 4, (8,)),
    ],
    ids=["gaussian", "squashed-gaussian", "categorical"],
)
def test_fisher_product_is_the_kl_hessian_for_several_vectors(actor):
    torch.manual_seed(0)
    actor = actor.double()
    with torch.no_grad():
        for p in actor.parameters():
            p.add_(0.3 * torch.randn_like(p))
    obs = torch.randn(40, 5, dtype=torch.float64)
    n = sum(p.numel() for p in actor.parameters())
    vectors = torch.randn(3, n, dtype=torch.float64)
    product = FisherProduct(actor, obs, damping=0.1)
    expected = torch.stack([kl_hessian_product(actor, obs, v, 0.1) for v in vectors])
    torch.testing.assert_close(product(vectors), expected)
    torch.testing.assert_close(product(vectors[1]), expected[1])  # one vector [n]


def test_fisher_product_rejects_other_layers():
    actor = GaussianActor(3, 2, (4,), 0.0)
    actor.mean[1] = torch.nn.ReLU()
    with pytest.raises(ValueError, match="Linear and Tanh"):
        FisherProduct(actor, torch.zeros(2, 3), 0.1)


def test_line_search_returns_first_accepted_fraction():
    tried = []

    def accept(fraction):
        tried.append(fraction)
        return fraction < 0.6

    assert backtracking_line_search(accept, max_backtracks=10, decay=0.5) == 0.5
    assert tried == [1.0, 0.5]
    assert backtracking_line_search(lambda f: False, max_backtracks=3) is None
