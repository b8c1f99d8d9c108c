"""PPO on CartPole-v1: mean deterministic return after 100k steps (target >= 475).

Run: ``PYTHONPATH=src python benchmarks/agents_ppo_cartpole.py [--steps N] [--seed S]``.
The baseline in the same run is a uniform random policy.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import gymnasium as gym
import torch

from stagewise.agents import ppo
from stagewise.core.policy import RandomPolicy, evaluate

TARGET = 475.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cfg = ppo.PPOConfig(
        seed=args.seed,
        total_steps=args.steps,
        num_envs=4,
        steps_per_epoch=2048,
        minibatch_size=128,
        gamma=0.99,
        lam=0.95,
        actor_lr=3e-4,
        target_kl=0.02,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        policy = ppo.train(lambda: gym.make("CartPole-v1"), cfg, run_dir)
    seconds = time.perf_counter() - started
    env = gym.make("CartPole-v1")
    learned = evaluate(policy, env, args.episodes, seed=10_000).summary()["reward_mean"]
    random = evaluate(RandomPolicy(0), env, args.episodes, seed=10_000).summary()["reward_mean"]
    print(f"PPO CartPole-v1: {args.steps} steps in {seconds:.1f} s")
    print(f"mean return (deterministic, {args.episodes} episodes): {learned:.1f}")
    print(f"random policy: {random:.1f}; ratio learned/random: {learned / random:.1f}")
    print(f"target >= {TARGET}: {'PASS' if learned >= TARGET else 'FAIL'}")


if __name__ == "__main__":
    main()
