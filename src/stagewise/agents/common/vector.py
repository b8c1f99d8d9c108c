"""Vector environments for training: construction, final observations, plain-data snapshots.

Agents receive ``env_fn`` building one Gymnasium environment and step
``num_envs`` copies as a :class:`gymnasium.vector.SyncVectorEnv` with same-step
autoreset, so the transition that ends an episode is reported together with its
``final_obs`` (needed to bootstrap time-limit truncations). A stagewise
problem instead runs as its native :class:`~stagewise.core.env.ConstrainedVectorEnv`
(the same dynamics on a batch, same-step autoreset too, without a Python loop
over copies) when ``env_fn`` returns it unwrapped or wrapped only in the
wrappers ``gym.make`` adds that do not change a transition (order enforcing,
the passive environment checker). Any other wrapper (a time limit, reward
shaping) keeps the Python loop, so that it is not bypassed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker

from stagewise.core.env import ConstrainedEnv, ConstrainedVectorEnv


def make_vector_env(env_fn: Callable[[], gym.Env], num_envs: int) -> VectorEnv:
    """``num_envs`` copies of ``env_fn()`` stepped in lockstep (same-step autoreset)."""
    if not callable(env_fn):
        raise ValueError(f"env_fn must be a callable returning a gymnasium.Env, got {env_fn!r}")
    if not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
    probe = env_fn()
    native_vector = getattr(probe, "native_vector", None)  # a wrapper with its own batch
    if native_vector is not None:
        return native_vector(num_envs)
    native = native_template(probe)
    if native is not None:
        return ConstrainedVectorEnv(native, num_envs)
    probe.close()
    return SyncVectorEnv([env_fn] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)


# Wrappers gym.make adds that leave every transition as it is: stepping the
# unwrapped problem in a batch gives the same episodes.
PASSIVE_WRAPPERS = (OrderEnforcing, PassiveEnvChecker)


def native_template(env: gym.Env) -> ConstrainedEnv | None:
    """The stagewise problem inside ``env`` if nothing but passive wrappers cover it."""
    while type(env) in PASSIVE_WRAPPERS:
        env = env.env
    return env if isinstance(env, ConstrainedEnv) else None


def final_observations(obs: np.ndarray, infos: dict[str, Any], done: np.ndarray) -> np.ndarray:
    """The observations that ended each episode: ``obs`` with ``final_obs`` where ``done``."""
    if not done.any() or "final_obs" not in infos:
        return obs
    out = obs.copy()
    mask = np.asarray(infos.get("_final_obs", done), dtype=bool)
    out[mask] = np.stack([np.asarray(o) for o in infos["final_obs"][mask]])
    return out


def snapshot_envs(envs: VectorEnv) -> dict[str, Any]:
    """The state of ``envs`` as plain data (numbers, arrays, generator states), no pickle.

    Every layer (the vector env, each sub-environment's wrappers and the environment
    itself) contributes its attributes that are plain values or NumPy generators;
    structure (spaces, dynamics, configs) is rebuilt by ``env_fn`` and not stored.
    """
    state = {"vector": _plain_attributes(envs)}
    if isinstance(envs, SyncVectorEnv):
        state["envs"] = [[_plain_attributes(layer) for layer in _layers(e)] for e in envs.envs]
    return state


def restore_envs(envs: VectorEnv, state: dict[str, Any]) -> None:
    """Put ``envs`` back in the state captured by :func:`snapshot_envs`."""
    _restore_attributes(envs, state["vector"])
    if isinstance(envs, SyncVectorEnv):
        for env, layers in zip(envs.envs, state["envs"], strict=True):
            for layer, saved in zip(_layers(env), layers, strict=True):
                _restore_attributes(layer, saved)


def _layers(env: gym.Env) -> list[Any]:
    """``env``'s wrappers from the outside in, then the environment itself."""
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


_GENERATOR = "__generator__"


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str | np.generic):
        return True
    if isinstance(value, np.ndarray):
        return not value.dtype.hasobject
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _plain_attributes(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(obj).items():
        if isinstance(value, np.random.Generator):
            out[name] = {_GENERATOR: value.bit_generator.state}
        elif _plain(value):
            out[name] = value
    return out


def _restore_attributes(obj: Any, saved: dict[str, Any]) -> None:
    for name, value in saved.items():
        if isinstance(value, dict) and _GENERATOR in value:
            state = value[_GENERATOR]
            bit_generator = getattr(np.random, state["bit_generator"])()
            bit_generator.state = state
            setattr(obj, name, np.random.Generator(bit_generator))
        else:
            setattr(obj, name, value)


class EpisodeTracker:
    """Running undiscounted reward/cost sums per sub-environment; completed episode totals."""

    def __init__(self, num_envs: int, k: int):
        self.reward = np.zeros(num_envs)
        self.cost = np.zeros((num_envs, k))
        self.length = np.zeros(num_envs, dtype=np.int64)
        self.finished: list[tuple[float, np.ndarray, int]] = []

    def add(self, reward: np.ndarray, cost: np.ndarray, done: np.ndarray) -> None:
        self.reward += reward
        self.cost += cost
        self.length += 1
        for i in np.flatnonzero(done):
            self.finished.append((float(self.reward[i]), self.cost[i].copy(), int(self.length[i])))
            self.reward[i], self.cost[i], self.length[i] = 0.0, 0.0, 0

    def pop(self) -> list[tuple[float, np.ndarray, int]]:
        """Episodes completed since the last call."""
        done, self.finished = self.finished, []
        return done

    def state_dict(self) -> dict[str, Any]:
        return {"reward": self.reward, "cost": self.cost, "length": self.length}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reward, self.cost, self.length = state["reward"], state["cost"], state["length"]


def episode_stats(episodes: list[tuple[float, np.ndarray, int]], names: tuple[str, ...]) -> dict:
    """Mean/std of episode reward, cost (per signal) and length, for ``progress.csv``."""
    if not episodes:
        return {"episodes": 0}
    rewards = np.array([e[0] for e in episodes])
    costs = np.stack([e[1] for e in episodes])
    row: dict[str, float] = {
        "episodes": len(episodes),
        "ep_reward_mean": float(rewards.mean()),
        "ep_reward_std": float(rewards.std()),
        "ep_len_mean": float(np.mean([e[2] for e in episodes])),
    }
    for j, name in enumerate(names):
        row[f"ep_{name}_mean"] = float(costs[:, j].mean())
        row[f"ep_{name}_std"] = float(costs[:, j].std())
    return row
