"""Seeding and thread control for reproducible training runs."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int, torch_threads: int | None = None) -> np.random.Generator:
    """Seed Python, NumPy and torch; optionally fix torch's thread count.

    Returns a NumPy generator for the agent's own draws (exploration, sampling).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    return np.random.default_rng(seed)
