"""The safety layer's targets: projection time, and safe agents with and without the layer.

``timing``: median projection time per call on each problem with rows, in the single
env (random actions; the plain env's step on the same actions is the baseline of the
ratio) and per copy in a vector env of 64 copies (one block-diagonal solve; the
baseline is the same 64 projections one copy at a time on the single-copy model).

``compare``: PPO-Lag and TRPO-Lag trained with and without the layer at the same steps
(the SafeOR Table 1 budgets, or ``--max-steps``), then evaluated together with the
paper's protocol (10 episodes, the optimum on the same episodes): reward, constraint
cost (the projection apart), projection distance and gap to the optimum. Every command
it runs is printed.

    PYTHONPATH=src python benchmarks/safety_layer.py timing [--calls 400] [--batch 64]
    PYTHONPATH=src python benchmarks/safety_layer.py compare [--max-steps 20000]
        [--problems gtep inventory] [--agents ppo-lag trpo-lag] [--runs runs/safety-layer]
        [--evaluate-only] [--projection-weight 0 0.1 1] [--hp KEY=VALUE ...] [--layer-only]
        [--seed 0]

``compare``'s reward is the problem's: the ``-projection_weight * distance`` term that
the layer adds to the training reward at a weight above 0 is taken out again.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from stagewise.agents.common.vector import make_vector_env
from stagewise.core.registry import get_problem
from stagewise.core.safety import PROJECTION, problems_with_rows
from stagewise.core.safety_env import make_safe_env

# The SafeOR Table 1 budgets of benchmarks/safeor_table1.yaml (episodes/epoch x T x 100).
BUDGETS = {
    "unit-commitment": 240_000,
    "gtep": 100_000,
    "inventory": 30_000,
    "grid-storage": 24_000,
    "rtn": 384_000,
    "stn": 384_000,
    "blending": 60_000,
    "sched-maint": 77_500,
    "asu": 1_008_000,
}
CONFIGS = {"unit-commitment": ["--variant", "v0"]}
WARMUP = 3  # calls left out of the medians: the first builds the solver model


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def single_timing(slug: str, calls: int) -> tuple[float, float]:
    """Median projection ms per call, and median plain env step ms on the same actions."""
    env = make_safe_env(get_problem(slug).env_id)
    plain = env.base.__class__()
    env.action_space.seed(0)
    env.reset(seed=0)
    plain.reset(seed=0)
    projection, step = [], []
    for _ in range(calls + WARMUP):
        action = env.action_space.sample()
        *_, done, _, info = env.step(action)
        start = time.perf_counter()
        *_, plain_done, _, _ = plain.step(action)
        step.append(time.perf_counter() - start)
        projection.append(info["safety"]["seconds"])
        if done:
            env.reset()
        if plain_done:
            plain.reset()
    projection, step = projection[WARMUP:], step[WARMUP:]
    return 1e3 * float(np.median(projection)), 1e3 * float(np.median(step))


def vector_timing(slug: str, batch: int, steps: int) -> tuple[float, float]:
    """Median projection ms per copy: one block-diagonal solve, and one copy at a time."""
    envs = make_vector_env(functools.partial(make_safe_env, get_problem(slug).env_id), batch)
    layer = envs.layer
    envs.action_space.seed(0)
    envs.reset(seed=0)
    block, loop = [], []
    for _ in range(steps + WARMUP):
        actions = envs.action_space.sample()
        state = {k: v.copy() for k, v in envs.batch_state.items()}
        proposal = envs.codec.decode_batch(actions, envs.action_mode)
        start = time.perf_counter()
        for i in range(batch):
            layer.project(
                {k: v[i : i + 1] for k, v in state.items()},
                {k: v[i : i + 1] for k, v in proposal.items()},
            )
        loop.append((time.perf_counter() - start) / batch)
        *_, infos = envs.step(actions)
        block.append(infos["safety"]["seconds"] / batch)
    block, loop = block[WARMUP:], loop[WARMUP:]
    return 1e3 * float(np.median(block)), 1e3 * float(np.median(loop))


def timing(args: argparse.Namespace) -> None:
    print(f"# projection time ({load()}; {os.cpu_count()} cores)")
    print(
        "| problem | single: ms/call | plain step ms | ratio | "
        f"batch {args.batch}: ms/copy | one at a time ms/copy | ratio |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for slug in args.problems or problems_with_rows():
        single, step = single_timing(slug, args.calls)
        block, loop = vector_timing(slug, args.batch, args.vector_steps)
        print(
            f"| {slug} | {single:.3f} | {step:.3f} | {single / step:.1f}x | {block:.3f} | "
            f"{loop:.3f} | {loop / block:.1f}x |",
            flush=True,
        )
    print(f"# ({load()} after)")


def run(command: list[str]) -> None:
    print("$ " + shlex.join(command), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def label_of(agent: str, layer: bool, weight: float) -> str:
    """``agent``, ``agent+safety`` (weight 0) or ``agent+safety-wW``."""
    if not layer:
        return agent
    return agent + "+safety" + (f"-w{weight:g}" if weight else "")


def train_commands(slug: str, args: argparse.Namespace) -> list[tuple[str, float, Path, list[str]]]:
    """(label, projection weight, run folder, train command) of every run on ``slug``:
    each agent without the layer (unless ``--layer-only``), then with the layer at each
    ``--projection-weight``; ``--hp`` goes to every run."""
    steps = min(BUDGETS.get(slug, args.max_steps or 20_000), args.max_steps or 10**9)
    cli = [sys.executable, "-m", "stagewise"]
    hp = [item for pair in args.hp for item in ("--hp", pair)]
    out = []
    for agent in args.agents:
        variants = [] if args.layer_only else [(False, 0.0)]
        variants += [(True, float(w)) for w in args.projection_weight]
        for layer, weight in variants:
            label = label_of(agent, layer, weight)
            run_dir = Path(args.runs) / slug / label / f"seed{args.seed}"
            command = [*cli, "train", slug, "--agent", agent, "--steps", str(steps)]
            command += ["--seed", str(args.seed), "--run-dir", str(run_dir), *hp]
            command += CONFIGS.get(slug, [])
            if layer:
                command.append("--safety-layer")
                if weight:
                    command += ["--projection-weight", f"{weight:g}"]
            out.append((label, weight, run_dir, command))
    return out


def problem_reward(result: dict) -> float:
    """The problem's mean reward: the evaluated reward less the projection term (the
    ``-projection_weight * distance`` the layer adds at a weight above 0)."""
    return result["reward_mean"] - result.get("reward_terms", {}).get(PROJECTION, 0.0)


def compare(args: argparse.Namespace) -> None:
    cli = [sys.executable, "-m", "stagewise"]
    rows = []
    for slug in args.problems or list(BUDGETS):
        runs = train_commands(slug, args)
        for *_, command in runs:
            if not args.evaluate_only:
                run(command)
        steps = int(runs[0][3][runs[0][3].index("--steps") + 1])
        out = Path(args.runs) / slug / f"evaluation-seed{args.seed}.json"
        command = [*cli, "evaluate", slug, "--episodes", str(args.episodes), "--out", str(out)]
        for _, _, run_dir, _ in runs:
            command += ["--run", str(run_dir)]
        run([*command, "--seed", "10000", *CONFIGS.get(slug, [])])
        results = json.loads(out.read_text())["results"]
        optimum = results["optimal"]["reward_mean"]
        for label, weight, run_dir, _ in runs:
            r = results[str(run_dir)]
            costs = {k: v["mean"] for k, v in r["costs"].items()}
            reward = problem_reward(r)
            rows.append(
                (
                    slug,
                    label,
                    steps,
                    weight,
                    args.seed,
                    reward,
                    sum(v for k, v in costs.items() if k != PROJECTION),
                    costs.get(PROJECTION, 0.0),
                    100.0 * (optimum - reward) / abs(optimum),
                )
            )
        print(f"# {slug}: optimum {optimum:.6g} on the same episodes ({load()})", flush=True)
    print(
        "\n| problem | method | steps | weight | seed | reward | constraint cost | projection "
        "| gap % |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for slug, label, steps, weight, seed, reward, cost, projection, gap in rows:
        print(
            f"| {slug} | {label} | {steps} | {weight:g} | {seed} | {reward:.6g} | {cost:.4g} | "
            f"{projection:.4g} | {gap:.1f} |"
        )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("timing")
    t.add_argument("--calls", type=int, default=400)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--vector-steps", type=int, default=30)
    t.add_argument("--problems", nargs="*")
    c = sub.add_parser("compare")
    c.add_argument("--problems", nargs="*")
    c.add_argument("--agents", nargs="*", default=["ppo-lag", "trpo-lag"])
    c.add_argument("--max-steps", type=int)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--episodes", type=int, default=10)
    c.add_argument("--runs", default="runs/safety-layer")
    c.add_argument("--evaluate-only", action="store_true", help="reuse the trained runs")
    c.add_argument(
        "--projection-weight",
        type=float,
        nargs="+",
        default=[0.0],
        help="one run with the layer per weight (the distance's weight in the reward)",
    )
    c.add_argument(
        "--hp", action="append", default=[], help="agent hyper-parameter KEY=VALUE (repeatable)"
    )
    c.add_argument("--layer-only", action="store_true", help="skip the runs without the layer")
    return parser


def main() -> None:
    args = parser().parse_args()
    timing(args) if args.what == "timing" else compare(args)


if __name__ == "__main__":
    main()
