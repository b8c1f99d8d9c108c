"""Train a safe-RL agent on a SafeOR problem with its per-problem defaults, then evaluate it.

Prints and runs the exact CLI commands: ``stagewise train`` with every default
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
from pathlib import Path

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
    args = parser.parse_args()
    config = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
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
    train += ["--seed", str(args.seed), "--run-dir", str(run_dir), *args.set]
    for key, value in hp.items():
        train += ["--hp", f"{key}={value}"]
    evaluate = [exe, "evaluate", args.problem, "--run", str(run_dir)]
    evaluate += ["--episodes", str(args.episodes), *args.set]
    for command in (train, evaluate):
        print("$ " + shlex.join(["stagewise", *command[1:]]), flush=True)
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
