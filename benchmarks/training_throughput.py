"""Training throughput: environment steps per second of the safe-RL agents on UC and GTEP.

For each problem and agent: a short training run (``--epochs`` epochs; the
off-policy agents update from the first step, no random warm-up) with the per-problem defaults of
``stagewise.agents.defaults`` (or ``--hp`` overrides), timed two ways:

- ``wall``: env steps / wall-clock seconds of the whole ``train`` call;
- ``cpu``: env steps / CPU seconds of this process (``torch_threads=1``, so this
  is the rate on one free core; on a shared machine wall < cpu).

Beside them, the raw rate of the native vector env at the same ``num_envs``
with random actions (the ceiling a learner could reach). Targets (issue 14):
>= 20,000 steps/s for the on-policy agents, >= 5,000 for DDPG-Lag on 2 free cores.

With ``--baseline SRC`` every row is also timed with the package found under
``SRC`` (another checkout's ``src``, e.g. the main branch), each run in its own
process, alternating ``--repeats`` times; the best rate of each side and their
ratio are printed, so a speed-up is measured against a baseline of the same run
on a machine whose load changes.

    PYTHONPATH=src python benchmarks/training_throughput.py [--problems gtep unit-commitment]
        [--agents ppo-lag trpo-lag cpo ddpg-lag] [--epochs 2] [--hp num_envs=64 ...]
        [--baseline /work/main/src --repeats 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np
import torch

import stagewise  # noqa: F401  (registers the problems)
from stagewise.agents import get_agent
from stagewise.agents.defaults import problem_defaults
from stagewise.core.registry import get_problem


def vector_rate(slug: str, num_envs: int, seconds: float) -> tuple[float, float]:
    """Random-action steps/s of the native vector env (wall, cpu)."""
    venv = get_problem(slug).env_class().make_vector(num_envs)
    shape = (64, num_envs, *venv.single_action_space.shape)
    actions = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    venv.reset(seed=0)
    steps, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        for a in actions:
            venv.step(a)
        steps += len(actions) * num_envs
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


def training_rate(slug: str, agent: str, epochs: int, hp: dict) -> dict:
    spec = get_agent(agent)
    settings = {**problem_defaults(agent, slug), **hp, "torch_threads": 1}
    cfg = spec.settings(settings)
    steps = cfg.steps_per_epoch * epochs
    if hasattr(cfg, "learning_starts"):  # time the updates from the first step on
        cfg.learning_starts = 0
    cfg.total_steps = steps
    env_fn = functools.partial(gym.make, get_problem(slug).env_id, action_mode=spec.action_mode)
    with tempfile.TemporaryDirectory() as run_dir:
        spec.train(env_fn, cfg, run_dir)  # warm-up: imports, first allocations
        os.remove(os.path.join(run_dir, "checkpoint.pt"))
        wall, cpu = time.perf_counter(), time.process_time()
        spec.train(env_fn, cfg, run_dir)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "problem": slug,
        "agent": agent,
        "num_envs": cfg.num_envs,
        "steps": steps,
        "wall_steps_per_s": steps / wall,
        "cpu_steps_per_s": steps / cpu,
    }


def load_average() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def parse_hp(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value) if value[:1] in "[{0123456789-tfn" else value
    return out


def rate_in_process(src: str, slug: str, agent: str, epochs: int, hp: list[str]) -> dict:
    """:func:`training_rate` run by a fresh interpreter importing stagewise from ``src``."""
    command = [sys.executable, __file__, "--one", slug, agent, "--epochs", str(epochs)]
    command += ["--hp", *hp] if hp else []
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def compare(args) -> None:
    """Best-of-``repeats`` rates of this tree and of ``args.baseline``, alternating."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    print(f"load average: {load_average()}; this tree: {here}; baseline: {args.baseline}")
    print("| problem | agent | steps | wall steps/s (base -> new) | ratio | cpu steps/s | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for slug in args.problems:
        for agent in args.agents:
            best: dict[str, dict] = {}
            for _ in range(args.repeats):
                for side, src in (("base", args.baseline), ("new", here)):
                    row = rate_in_process(src, slug, agent, args.epochs, args.hp)
                    for key in ("wall_steps_per_s", "cpu_steps_per_s"):
                        best.setdefault(side, {})[key] = max(
                            best.get(side, {}).get(key, 0.0), row[key]
                        )
            base, new = best["base"], best["new"]
            wall, cpu = "wall_steps_per_s", "cpu_steps_per_s"
            print(
                f"| {slug} | {agent} | {row['steps']} | {base[wall]:,.0f} -> {new[wall]:,.0f} | "
                f"{new[wall] / base[wall]:.2f} | {base[cpu]:,.0f} -> {new[cpu]:,.0f} | "
                f"{new[cpu] / base[cpu]:.2f} |",
                flush=True,
            )
    print(f"load average: {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["gtep", "unit-commitment"])
    parser.add_argument("--agents", nargs="+", default=["ppo-lag", "trpo-lag", "cpo", "ddpg-lag"])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0, help="raw vector env timing")
    parser.add_argument("--hp", nargs="*", default=[], help="KEY=VALUE overrides for every agent")
    parser.add_argument("--baseline", help="src folder of the package to compare against")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per side")
    parser.add_argument("--one", nargs=2, metavar=("PROBLEM", "AGENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    hp = parse_hp(args.hp)
    if args.one:
        print(json.dumps(training_rate(*args.one, args.epochs, hp)))
        return
    if args.baseline:
        compare(args)
        return
    print(f"load average: {load_average()}")
    print("| problem | agent | num_envs | steps | wall steps/s | cpu steps/s | raw env wall/cpu |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for slug in args.problems:
        for agent in args.agents:
            row = training_rate(slug, agent, args.epochs, hp)
            raw = vector_rate(slug, row["num_envs"], args.seconds)
            print(
                f"| {slug} | {agent} | {row['num_envs']} | {row['steps']} | "
                f"{row['wall_steps_per_s']:,.0f} | {row['cpu_steps_per_s']:,.0f} | "
                f"{raw[0]:,.0f} / {raw[1]:,.0f} |",
                flush=True,
            )
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
