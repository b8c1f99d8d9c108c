"""Per-stage time of the sp policy against a baseline revision, measured in the same run.

    PYTHONPATH=src python benchmarks/copper_sp_timing.py --baseline 52cc059 \\
        [--instance 20E100M-LH-0 --episodes 12 --rounds 3]

The baseline's ``src`` is taken from git (``git archive``) into a temporary folder; each round
evaluates ``sp(env, 20, 20)`` on episodes 0..E-1 once with the baseline and once with this
tree, in fresh processes, alternating, so both see the same machine load. Reported per run:
the median time of a decision (``act``; a state seen before may reuse its plan) and of a
solved stage (``saa.plan``), and the mean cost (the same draws, so equal costs mean the same
decisions). The ratio is baseline over this tree, per round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def measure(instance: str, episodes: int) -> dict:
    """Evaluate sp(env, 20, 20) and time every decision and every solved stage."""
    import stagewise
    from stagewise.core.policy import evaluate
    from stagewise.problems.copper_blending import baselines
    from stagewise.problems.copper_blending import sp as spm
    from stagewise.problems.copper_blending.env import CopperBlendingEnv

    env = CopperBlendingEnv({"instance": instance, "control": "feed"})
    policy = spm.sp(env, 20, 20)
    decisions, solves = [], []
    act, plan = policy.act, policy.saa.plan

    def timed_act(obs, info):
        start = time.perf_counter()
        action = act(obs, info)
        decisions.append(time.perf_counter() - start)
        return action

    def timed_plan(*args, **kwargs):
        start = time.perf_counter()
        answer = plan(*args, **kwargs)
        solves.append(time.perf_counter() - start)
        return answer

    policy.act, policy.saa.plan = timed_act, timed_plan
    result = evaluate(policy, env, episodes, 0)
    return {
        "src": str(Path(stagewise.__file__).parent.parent),
        "decision_median_s": float(np.median(decisions)),
        "solve_median_s": float(np.median(solves)),
        "solves": len(solves),
        "decisions": len(decisions),
        "cost": float(baselines.total_costs(result, 1e-3).mean()),
    }


def run(src: Path, instance: str, episodes: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--instance", instance, "--episodes", str(episodes)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default="52cc059", help="git revision of the baseline")
    parser.add_argument("--instance", default="20E100M-LH-0")
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.instance, args.episodes)))
        return
    print("load:", os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "src"],
            check=True,
            capture_output=True,
        ).stdout
        tar_path = Path(tmp) / "base.tar"
        tar_path.write_bytes(archive)
        with tarfile.open(tar_path) as tar:
            tar.extractall(tmp, filter="data")
        base_src, this_src = Path(tmp) / "src", ROOT / "src"
        for r in range(args.rounds):
            base = run(base_src, args.instance, args.episodes)
            this = run(this_src, args.instance, args.episodes)
            solve_ratio = base["solve_median_s"] / this["solve_median_s"]
            print(
                f"round {r}: solve median {base['solve_median_s']:.3f} -> "
                f"{this['solve_median_s']:.3f} s (x{solve_ratio:.2f}), "
                f"decision median {base['decision_median_s']:.3f} -> "
                f"{this['decision_median_s']:.3f} s "
                f"(x{base['decision_median_s'] / this['decision_median_s']:.2f}), "
                f"solves {base['solves']} -> {this['solves']}, "
                f"cost {base['cost']:.2f} / {this['cost']:.2f}",
                flush=True,
            )
    print("load:", os.getloadavg())


if __name__ == "__main__":
    main()
