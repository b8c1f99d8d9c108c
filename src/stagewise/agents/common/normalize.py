"""Running observation normalisation, saved with the policy.

``z = clip((x - mean) / sqrt(var + eps), -clip, clip)`` with ``mean`` and ``var``
the running moments of every observation seen in training, merged batch by
batch (Chan, Golub, LeVeque 1979, the parallel variance update). The moments
are tensors (buffers of an ``nn.Module``), so they travel in the model's
``state_dict``: checkpoints resume them exactly and ``load_policy`` applies
the same transformation at evaluation, where they are frozen.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class ObservationNormalizer(nn.Module):
    """Running mean and variance of ``dim``-dimensional observations."""

    def __init__(self, dim: int, clip: float = 10.0, eps: float = 1e-8):
        super().__init__()
        self.clip, self.eps = float(clip), float(eps)
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    def update(self, obs: np.ndarray) -> None:
        """Merge the moments of the batch ``obs`` ``[n, dim]`` into the running ones."""
        batch = np.asarray(obs, dtype=np.float64).reshape(-1, self.mean.shape[0])
        n = batch.shape[0]
        if n == 0:
            return
        mean, var, count = self.mean.numpy(), self.var.numpy(), float(self.count)
        b_mean, b_var = batch.mean(0), batch.var(0)
        total = count + n
        delta = b_mean - mean
        new_mean = mean + delta * (n / total)
        m2 = var * count + b_var * n + delta**2 * (count * n / total)
        # the views share memory with the buffers: write in place
        mean[...] = new_mean
        var[...] = m2 / total
        self.count.fill_(total)

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` scaled by the current moments (float32, clipped to ``+-clip``)."""
        z = (np.asarray(obs, dtype=np.float64) - self.mean.numpy()) / np.sqrt(
            self.var.numpy() + self.eps
        )
        return np.clip(z, -self.clip, self.clip).astype(np.float32)
