"""Checkpoints: everything needed to resume a run bit-for-bit.

A checkpoint is one ``torch.save`` file holding network and optimizer states,
counters, the replay buffer or rollout state, and every random generator state
(Python, NumPy global, torch, the agent's NumPy generator, the environment's).
It is written to a temporary file and renamed, so a kill never leaves a torn file.
"""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT = "checkpoint.pt"


def rng_state(agent_rng: np.random.Generator) -> dict[str, Any]:
    """Snapshot of every global generator plus the agent's own."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "agent": agent_rng.bit_generator.state,
    }


def restore_rng_state(state: dict[str, Any], agent_rng: np.random.Generator) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    agent_rng.bit_generator.state = state["agent"]


def save_checkpoint(run_dir: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` to ``run_dir/checkpoint.pt``."""
    path = Path(run_dir) / CHECKPOINT
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The payload of ``run_dir/checkpoint.pt``, or ``None`` if there is none."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    return torch.load(path, weights_only=False)


def config_dict(cfg: Any) -> dict[str, Any]:
    """A hyper-parameter dataclass as JSON-ready values (tuples become lists)."""
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in dataclasses.asdict(cfg).items()
    }


def check_same_config(saved: dict[str, Any], cfg: Any, run_dir: str | Path) -> None:
    """A resume must use the checkpoint's hyper-parameters, or it would not continue that run.

    Raises:
        ValueError: naming every hyper-parameter that differs from the checkpoint's.
    """
    current = config_dict(cfg)
    differ = [
        f"{name}: checkpoint {saved.get(name)!r}, now {value!r}"
        for name, value in current.items()
        if saved.get(name) != value
    ]
    if differ:
        raise ValueError(
            f"{run_dir} holds a checkpoint of a run with other hyper-parameters "
            f"({'; '.join(differ)}); use a new run directory"
        )
