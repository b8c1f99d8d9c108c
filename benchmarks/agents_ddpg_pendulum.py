"""DDPG on Pendulum-v1: mean deterministic return after 30k steps (target >= -200).

Run: ``PYTHONPATH=src python benchmarks/agents_ddpg_pendulum.py [--steps N] [--seed S]``.
The baseline in the same run is a uniform random policy.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import gymnasium as gym
import torch

from stagewise.agents import ddpg
from stagewise.core.policy import RandomPolicy, evaluate

TARGET = -200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = ddpg.DDPGConfig(
        seed=args.seed,
        total_steps=args.steps,
        learning_starts=5000,
        gamma=0.98,
        tau=0.005,
        actor_lr=1e-3,
        critic_lr=1e-3,
        hidden=(256, 256),
        exploration_noise=0.1,
        batch_size=256,
        steps_per_epoch=1000,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        policy = ddpg.train(lambda: gym.make("Pendulum-v1"), cfg, run_dir)
    seconds = time.perf_counter() - started
    env = gym.make("Pendulum-v1")
    learned = evaluate(policy, env, args.episodes, seed=10_000).summary()["reward_mean"]
    random = evaluate(RandomPolicy(0), env, args.episodes, seed=10_000).summary()["reward_mean"]
    print(f"DDPG Pendulum-v1: {args.steps} steps in {seconds:.1f} s")
    print(f"mean return (deterministic, {args.episodes} episodes): {learned:.1f}")
    print(f"random policy: {random:.1f}; gap closed vs random: {learned - random:.1f}")
    print(f"target >= {TARGET}: {'PASS' if learned >= TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
