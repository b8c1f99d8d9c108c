"""Shared test setup: single-threaded torch so parallel workers do not oversubscribe the cores."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # the core tests do not need torch
    pass
