"""Train a safe-RL agent on a SafeOR problem with its per-problem defaults, then evaluate it.

Prints and runs the exact CLI commands: ``stagewise train`` (under a wall
budget, ``--minutes``, 10 by default) with every default
of ``stagewise.agents.defaults`` spelled out as ``--hp`` (so the command means
the same once the CLI reads the defaults itself), then ``stagewise evaluate``
with the paper's protocol (100 episodes, gap to the optimum on the same episodes).

    PYTHONPATH=src python benchmarks/agents_safeor.py gtep ppo-lag --steps 3000000 --seed 0
        [--set transmission=false] [--hp KEY=VALUE ...] [--runs runs/issue14]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import yaml

from stagewise.agents.defaults import problem_defaults


def as_cli(value) -> str:
    return json.dumps(value) if isinstance(value, list | bool) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem")
    parser.add_argument("agent")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], help="problem config KEY=VALUE")
    parser.add_argument("--hp", nargs="*", default=[], help="agent KEY=VALUE over the defaults")
    parser.add_argument("--runs", default="runs/issue14")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="wall budget: training is interrupted then"
    )
    args = parser.parse_args()
    config = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in args.set)}
    hp = {k: as_cli(v) for k, v in problem_defaults(args.agent, args.problem, config).items()}
    hp |= dict(item.split("=", 1) for item in args.hp)
    hp["torch_threads"] = "1"
    variant = "-".join(s.replace("=", "") for s in args.set)
    run_dir = (
        Path(args.runs)
        / f"{args.problem}{'-' + variant if variant else ''}"
        / (f"{args.agent}/seed{args.seed}")
    )
    exe = str(Path(sys.executable).with_name("stagewise"))
    train = [exe, "train", args.problem, "--agent", args.agent, "--steps", str(args.steps)]
    overrides = [f"--{item}" for item in args.set]  # problem config fields: --FIELD=VALUE
    train += ["--seed", str(args.seed), "--run-dir", str(run_dir), *overrides]
    for key, value in hp.items():
        train += ["--hp", f"{key}={value}"]
    evaluate = [exe, "evaluate", args.problem, "--run", str(run_dir)]
    evaluate += ["--episodes", str(args.episodes), *overrides]
    # the budget interrupts training like Ctrl-C; the last epoch's checkpoint and policy stay
    budget = ["timeout", "-s", "INT", f"{args.minutes * 60:.0f}"]
    print("$ " + shlex.join([*budget, "stagewise", *train[1:]]), flush=True)
    started = time.perf_counter()
    rc = subprocess.run([*budget, *train]).returncode
    print(f"train: exit {rc} after {time.perf_counter() - started:.0f} s wall", flush=True)
    if rc not in (0, 124, 130):
        sys.exit(rc)
    print("$ " + shlex.join(["stagewise", *evaluate[1:]]), flush=True)
    subprocess.run(evaluate, check=True)


if __name__ == "__main__":
    main()
