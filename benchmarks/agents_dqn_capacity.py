"""DQN on the capacity-expansion problem (Table I cells) against the exact DP optimum.

Run: ``PYTHONPATH=src python benchmarks/agents_dqn_capacity.py [--cells 2,3 4,5] [--paths N]``.

For each cell (K, T) it trains DQN with :func:`dqn_config` (one core, torch
threads 1), then evaluates the greedy policy and the DP-optimal policy on the
same ``--paths`` simulated price/demand paths of the native vector environment
(common random numbers: the draws depend only on the seed, never on the
decisions). Prints the DQN profit with its standard error, the exact DP
optimum, the gap in % of the optimum, the paired (same-path) gap to the DP
policy with its standard error, and the training time (wall and CPU).
Target: gap < 1 % on every cell with training <= 120 s per cell.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import tempfile
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import stagewise.problems  # noqa: F401  (registers the environments)
from stagewise.agents.dqn import DQNConfig, GreedyQPolicy, train
from stagewise.bench.capacity_expansion import training_episodes
from stagewise.problems.capacity_expansion.dp import solve
from stagewise.problems.capacity_expansion.env import CapacityExpansionEnv

CELLS = [(2, 3), (2, 4), (2, 5), (3, 4), (3, 5), (4, 5)]
EVAL_SEED = 12_345


def dqn_config(K: int, T: int, seed: int = 0) -> DQNConfig:
    """The reproduction's DQN settings: the defaults, with its per-horizon episode budget."""
    return DQNConfig(total_steps=training_episodes(T) * T, seed=seed, torch_threads=1)


def _profits(
    decide: Callable[[int, dict, np.ndarray, dict], np.ndarray], K: int, T: int, paths: int
):
    """Per-path profit of a batched decision rule on ``paths`` paths (seed ``EVAL_SEED``)."""
    venv = CapacityExpansionEnv.make_vector(paths, {"K": K, "T": T}, action_mode="discrete")
    obs, infos = venv.reset(seed=EVAL_SEED)
    profit = np.zeros(paths)
    for t in range(1, T + 1):
        units = decide(t, infos["state"], obs, infos["action_mask"])
        obs, reward, terminated, _, infos = venv.step(np.asarray(units, dtype=np.int64))
        profit += reward
    if not terminated.all():
        raise RuntimeError("episodes did not end after T stages")
    return profit


def _greedy_rule(policy: GreedyQPolicy):
    def decide(t: int, state: dict, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            q = policy.q_network(torch.from_numpy(obs)).double().numpy()
        return np.where(mask, q, -np.inf).argmax(axis=1)

    return decide


def run_cell(K: int, T: int, paths: int, seed: int) -> dict[str, float]:
    def env_fn() -> gym.Env:
        return gym.make("stagewise/CapacityExpansion-v0", action_mode="discrete", K=K, T=T)

    cfg = dqn_config(K, T, seed)
    with tempfile.TemporaryDirectory() as run_dir:
        wall, cpu = time.perf_counter(), time.process_time()
        policy = train(env_fn, cfg, run_dir)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    optimum = solve(K=K, T=T)
    dqn = _profits(_greedy_rule(policy), K, T, paths)
    dp_rule = optimum.policy
    dp = _profits(
        lambda t, s, o, m: dp_rule.decide(t, s["price"], s["demand"], s["capacity"]), K, T, paths
    )
    paired = dp - dqn
    return {
        "dqn": float(dqn.mean()),
        "dqn_se": float(dqn.std(ddof=1) / np.sqrt(paths)),
        "optimum": optimum.objective,
        "gap_pct": 100.0 * (optimum.objective - dqn.mean()) / optimum.objective,
        "paired_gap_pct": 100.0 * paired.mean() / optimum.objective,
        "paired_gap_se_pct": 100.0 * paired.std(ddof=1) / np.sqrt(paths) / optimum.objective,
        "wall_s": wall,
        "cpu_s": cpu,
        "steps": cfg.total_steps,
    }


def _cell(text: str) -> tuple[int, int]:
    try:
        k, t = (int(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"a cell is K,T (e.g. 2,3), got {text!r}") from err
    return k, t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", type=_cell, default=CELLS, help="K,T pairs")
    parser.add_argument("--paths", type=int, default=100_000, help="Monte-Carlo paths (>= 20000)")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    args = parser.parse_args()
    if args.paths < 20_000:
        parser.error(f"--paths must be >= 20000, got {args.paths}")
    torch.set_num_threads(1)
    print(
        f"{'K':>2} {'T':>2} {'steps':>7} {'DQN profit':>17} {'DP optimum':>10} {'gap %':>6} "
        f"{'paired gap % (se)':>18} {'train wall s':>12} {'cpu s':>6}"
    )
    worst, worst_paired = -np.inf, -np.inf
    for K, T in args.cells:
        r = run_cell(K, T, args.paths, args.seed)
        worst = max(worst, r["gap_pct"])
        worst_paired = max(worst_paired, r["paired_gap_pct"])
        print(
            f"{K:>2} {T:>2} {r['steps']:>7} {r['dqn']:>9.3f} +- {r['dqn_se']:.3f} "
            f"{r['optimum']:>10.3f} {r['gap_pct']:>6.2f} "
            f"{r['paired_gap_pct']:>8.2f} ({r['paired_gap_se_pct']:.2f}) "
            f"{r['wall_s']:>12.1f} {r['cpu_s']:>6.1f}",
            flush=True,
        )
    print(f"worst gap: {worst:.2f} %, worst paired gap: {worst_paired:.2f} % (target < 1 %)")


if __name__ == "__main__":
    main()
