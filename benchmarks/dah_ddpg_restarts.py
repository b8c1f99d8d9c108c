"""DAH-DDPG best-of-k restarts on copper blending: rho of every restart and of the choice.

For each cell ``INSTANCE:SEED``: train DAH-DDPG with ``restarts`` runs (seeds
``SEED, SEED + 1, ...``; ``max_stages = T``, one torch thread per process,
``restart_jobs`` at once), then evaluate single-stage CCP, the tuned two-stage
rule, each restart's policy and the selected policy on the same episodes
(episode ``k`` from seed ``k``). Prints rho (cost over CCP cost), each restart's
selection score (mean greedy return on the selection episodes), which restart was
kept, and the training CPU seconds (this process and its workers) beside the wall
seconds. Run folders stay under ``--out``, so a rerun resumes or reuses them.

    PYTHONPATH=src python benchmarks/dah_ddpg_restarts.py \
        [--cells 5E24M-LH-0:2,5E24M-MH-0:1] [--restarts 2] [--restart-jobs 2] \
        [--episodes 300] [--out runs/dah_restarts]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import torch

from stagewise.agents.dah_ddpg import RESTARTS_FILE, DAHDDPGConfig, load_policy, train
from stagewise.core.policy import evaluate
from stagewise.problems.copper_blending import baselines
from stagewise.problems.copper_blending.env import CopperBlendingEnv

TUNING_EPISODES = 50


def cpu_seconds() -> float:
    """CPU seconds of this process plus its finished child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def mean_cost(policy, env: CopperBlendingEnv, episodes: int) -> float:
    result = evaluate(policy, env, episodes, seed=0)
    return float(np.mean(baselines.total_costs(result, env.config.reward_scale)))


def run_cell(instance: str, seed: int, args: argparse.Namespace) -> dict:
    """Train with restarts on one instance and evaluate every policy on the same episodes."""
    env = CopperBlendingEnv({"instance": instance}, action_mode="hybrid")
    cfg = DAHDDPGConfig(
        seed=seed,
        max_stages=env.config.instance.T,
        restarts=args.restarts,
        restart_jobs=args.restart_jobs,
    )
    run_dir = Path(args.out) / instance / f"seed{seed}"
    env_fn = functools.partial(CopperBlendingEnv, {"instance": instance}, action_mode="hybrid")
    start, cpu_start = time.perf_counter(), cpu_seconds()
    policy = train(env_fn, cfg, run_dir)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    ccp = mean_cost(baselines.ccp(env), env, args.episodes)
    rho = {
        "rule": mean_cost(baselines.rule(env, TUNING_EPISODES), env, args.episodes) / ccp,
        "selected": mean_cost(policy, env, args.episodes) / ccp,
    }
    restarts = []
    if args.restarts > 1:
        summary = json.loads((run_dir / RESTARTS_FILE).read_text())
        for entry in summary["restarts"]:
            restart_policy = load_policy(run_dir / f"restart_{entry['restart']}")
            rho_restart = mean_cost(restart_policy, env, args.episodes) / ccp
            restarts.append((entry["seed"], entry["return"], rho_restart))
    return {
        "instance": instance,
        "seed": seed,
        "rho": rho,
        "restarts": restarts,
        "cpu": cpu,
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="5E24M-LH-0:2,5E24M-MH-0:1")
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--restart-jobs", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--out", default="runs/dah_restarts")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    print(
        "| instance | agent seed | restarts: seed, selection return, rho | rho selected "
        "| rho rule | train CPU (s) | train wall (s) |"
    )
    print("| --- " * 7 + "|")
    for cell in args.cells.split(","):
        instance, _, seed = cell.strip().partition(":")
        r = run_cell(instance, int(seed or 0), args)
        restarts = "; ".join(f"{s}: {ret:.3f}, {rho:.4f}" for s, ret, rho in r["restarts"])
        print(
            f"| {instance} | {r['seed']} | {restarts or '-'} | {r['rho']['selected']:.4f} "
            f"| {r['rho']['rule']:.4f} | {r['cpu']:.0f} | {r['wall']:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
