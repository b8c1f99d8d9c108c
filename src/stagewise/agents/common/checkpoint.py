"""Checkpoints and saved policies: tensors and plain containers, loaded without pickle code.

A checkpoint is one ``torch.save`` file holding network and optimizer states,
counters, the replay buffer or rollout state, and every random generator state
(Python, NumPy global, torch, the agent's NumPy generator, the environments').
It holds only tensors and plain containers: NumPy arrays are stored as
``{"__ndarray__": bytes, "dtype", "shape"}``, Gymnasium spaces as their
parameters, so :func:`load_torch` reads it with ``torch.load(weights_only=True)``
and a crafted file can never run code. Files are written atomically under a
temporary name unique to the writer.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from stagewise.core.files import RunFileError, write_atomic

CHECKPOINT = "checkpoint.pt"
_ARRAY, _SPACE = "__ndarray__", "__space__"


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


# ------------------------------------------------------------ plain storage
def to_storable(value: Any) -> Any:
    """``value`` with NumPy arrays and Gymnasium spaces replaced by plain containers.

    Raises:
        TypeError: for a value that cannot be stored without pickling code (names its type).
    """
    if value is None or isinstance(value, bool | int | float | str | bytes | torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("an object array cannot be stored in a checkpoint")
        array = np.ascontiguousarray(value)
        return {_ARRAY: array.tobytes(), "dtype": array.dtype.str, "shape": list(array.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, spaces.Space):
        return {_SPACE: to_storable(_space_params(value))}
    if isinstance(value, dict):
        return {key: to_storable(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(to_storable(item) for item in value)
    if isinstance(value, list):
        return [to_storable(item) for item in value]
    raise TypeError(f"a {type(value).__name__} cannot be stored in a checkpoint")


def from_storable(value: Any) -> Any:
    """Inverse of :func:`to_storable`."""
    if isinstance(value, dict):
        if _ARRAY in value:
            flat = np.frombuffer(value[_ARRAY], dtype=np.dtype(value["dtype"]))
            return flat.reshape(value["shape"]).copy()
        if _SPACE in value:
            return _space_from(value[_SPACE])
        return {key: from_storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(from_storable(item) for item in value)
    return value


def _space_params(space: spaces.Space) -> dict[str, Any]:
    if isinstance(space, spaces.Box):
        return {"kind": "Box", "low": space.low, "high": space.high, "dtype": space.dtype.str}
    if isinstance(space, spaces.Discrete):
        return {"kind": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"kind": "MultiDiscrete", "nvec": space.nvec}
    if isinstance(space, spaces.MultiBinary):
        return {"kind": "MultiBinary", "n": space.n}
    if isinstance(space, spaces.Tuple):
        return {"kind": "Tuple", "spaces": [_space_params(s) for s in space.spaces]}
    raise TypeError(f"a {type(space).__name__} space cannot be stored in a checkpoint")


def _space_from(params: dict[str, Any]) -> spaces.Space:
    kind = params["kind"]
    if kind == "Box":
        low, high = from_storable(params["low"]), from_storable(params["high"])
        return spaces.Box(low, high, low.shape, dtype=np.dtype(params["dtype"]))
    if kind == "Discrete":
        return spaces.Discrete(params["n"], start=params["start"])
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(from_storable(params["nvec"]))
    if kind == "MultiBinary":
        return spaces.MultiBinary(from_storable(params["n"]))
    if kind == "Tuple":
        return spaces.Tuple([_space_from(p) for p in params["spaces"]])
    raise RunFileError(f"unknown space kind {kind!r} in a saved file")


def save_torch(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (tensors, arrays, spaces, plain containers) to ``path`` atomically."""
    storable = to_storable(payload)
    return write_atomic(path, lambda handle: torch.save(storable, handle))


def load_torch(path: str | Path, what: str) -> dict[str, Any]:
    """The payload saved by :func:`save_torch`, read with ``weights_only=True``.

    Raises:
        RunFileError: one line naming the file, when it is missing, truncated, not a
            torch file, or holds anything but tensors and plain containers (a crafted
            pickle is refused before any of its code runs).
    """
    path = Path(path)
    if not path.is_file():
        raise RunFileError(f"{path} is missing ({what}); train the run (again) to create it")
    try:
        payload = torch.load(path, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RunFileError(
            f"{path} was refused: it holds objects other than tensors and plain data "
            f"({first[:160]}); it was not written by stagewise, do not trust it"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RunFileError(
            f"{path} is truncated or corrupt ({what}: {first[:160]}); "
            "delete the run folder and train again"
        ) from None
    if not isinstance(payload, dict):
        raise RunFileError(f"{path} does not hold a stagewise {what}")
    return from_storable(payload)


def save_checkpoint(run_dir: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` to ``run_dir/checkpoint.pt``."""
    return save_torch(Path(run_dir) / CHECKPOINT, payload)


def load_checkpoint(run_dir: str | Path) -> dict[str, Any] | None:
    """The payload of ``run_dir/checkpoint.pt``, or ``None`` if there is none."""
    path = Path(run_dir) / CHECKPOINT
    if not path.exists():
        return None
    return load_torch(path, "checkpoint")


def config_dict(cfg: Any) -> dict[str, Any]:
    """A hyper-parameter dataclass as JSON-ready values (tuples become lists)."""
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in dataclasses.asdict(cfg).items()
    }


def check_same_config(saved: dict[str, Any], cfg: Any, run_dir: str | Path) -> None:
    """A resume must use the checkpoint's hyper-parameters, or it would not continue that run.

    Raises:
        RunFileError: naming every hyper-parameter that differs from the checkpoint's.
    """
    current = config_dict(cfg)
    differ = [
        f"{name}: checkpoint {saved.get(name)!r}, now {value!r}"
        for name, value in current.items()
        if saved.get(name) != value
    ]
    if differ:
        raise RunFileError(
            f"{run_dir} holds a checkpoint of a run with other hyper-parameters "
            f"({'; '.join(differ)}); use a new run directory"
        )
