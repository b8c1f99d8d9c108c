"""Real processes: `kill -9` in the middle of `stagewise train` and `stagewise bench`, and two
processes on one folder."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import torch
import yaml

from stagewise.agents.common.checkpoint import load_checkpoint, load_torch
from tests.runs.helpers import PPO_FLAGS, alive, children, error_line, kill9, start, wait_for

TRAIN = ["train", "capacity-expansion", *PPO_FLAGS]


def epochs_done(run: Path) -> int:
    path = run / "checkpoint.pt"
    return load_checkpoint(run)["epoch"] if path.exists() else 0


def progress_epochs(run: Path) -> list[int]:
    lines = (run / "progress.csv").read_text().splitlines()[1:]
    return [int(line.split(",")[0]) for line in lines]


def test_train_killed_with_sigkill_resumes_to_the_uninterrupted_parameters(tmp_path: Path) -> None:
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    reference = start(*TRAIN, "--run-dir", whole, cwd=tmp_path)
    victim = start(*TRAIN, "--run-dir", cut, cwd=tmp_path)
    wait_for(lambda: (cut / "checkpoint.pt").exists() and epochs_done(cut) >= 3, "3 epochs")
    kill9(victim)
    assert 0 < epochs_done(cut) < 80
    resumed = start(*TRAIN, "--run-dir", cut, cwd=tmp_path)
    assert resumed.wait(timeout=300) == 0 and reference.wait(timeout=300) == 0
    assert not list(cut.glob(".*.tmp")), "the resume removes what the killed writer left"
    a, b = load_torch(whole / "policy.pt", "policy"), load_torch(cut / "policy.pt", "policy")
    for name, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][name]), name
    assert progress_epochs(cut) == list(range(1, 81))


def grid_file(folder: Path, steps: int) -> Path:
    grid = {
        "experiment": "killed",
        "problems": [{"name": "capacity-expansion"}],
        "agents": [
            {
                "name": "ppo",
                "steps": steps,
                "hp": {"steps_per_epoch": 256, "num_envs": 2, "update_epochs": 2, "hidden": [16]},
            }
        ],
        "seeds": [0],
        "evaluation": {"episodes": 10, "seed": 100},
    }
    path = folder / "grid.yaml"
    path.write_text(yaml.safe_dump(grid))
    return path


def test_bench_killed_with_sigkill_takes_its_workers_along_and_resumes(tmp_path: Path) -> None:
    grid = grid_file(tmp_path, 20480)
    run = tmp_path / "runs" / "killed" / "capacity-expansion" / "ppo" / "seed0"
    bench = start("bench", grid, "--root", tmp_path / "runs", "--workers", "1", cwd=tmp_path)
    wait_for(lambda: (run / "checkpoint.pt").exists() and epochs_done(run) >= 2, "2 epochs")
    workers = children(bench.pid)
    assert workers, "the local backend runs jobs in worker processes"
    kill9(bench)
    wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to exit", timeout=10)
    stopped_at = epochs_done(run)
    time.sleep(1.0)
    assert epochs_done(run) == stopped_at, "nobody writes into the run after the kill"
    again = start("bench", grid, "--root", tmp_path / "runs", "--workers", "1", cwd=tmp_path)
    assert again.wait(timeout=300) == 0
    assert json.loads((run / "evaluation.json").read_text())["episodes"] == 10
    assert progress_epochs(run) == list(range(1, 81))


# a DAH-DDPG run of two restarts in two worker processes, long enough to be killed
DAH_DDPG = [
    "train",
    "copper-blending",
    "--agent",
    "dah-ddpg",
    "--steps",
    "100000",
    *("--hp", "restarts=2", "--hp", "restart_jobs=2", "--hp", "guided_episodes=4"),
    *("--hp", "critic_warmup=0", "--hp", "batch_size=16", "--hp", "hidden_sizes=[8]"),
    *("--hp", "eval_interval=20", "--hp", "eval_episodes=1"),
]


def test_dah_ddpg_killed_with_sigkill_takes_its_restart_workers_along(tmp_path: Path) -> None:
    run = tmp_path / "run"
    progress = [run / f"restart_{i}" / "progress.csv" for i in range(2)]
    trainer = start(*DAH_DDPG, "--run-dir", run, cwd=tmp_path)
    wait_for(lambda: all(p.exists() and p.stat().st_size for p in progress), "restart progress")
    helpers = children(trainer.pid)
    assert len(helpers) >= 3, "two restart workers and the manager of their progress queue"
    kill9(trainer)
    try:
        wait_for(lambda: not any(alive(pid) for pid in helpers), "the helpers to exit", timeout=5)
        sizes = [p.stat().st_size for p in progress]
        time.sleep(1.0)
        assert [p.stat().st_size for p in progress] == sizes, "nobody trains after the kill"
    finally:  # a failure leaves no orphan behind
        for pid in filter(alive, helpers):
            os.kill(pid, signal.SIGKILL)


def test_second_bench_on_a_held_experiment_names_the_holder(tmp_path: Path) -> None:
    grid = grid_file(tmp_path, 20480)
    run = tmp_path / "runs" / "killed" / "capacity-expansion" / "ppo" / "seed0"
    first = start("bench", grid, "--root", tmp_path / "runs", "--workers", "1", cwd=tmp_path)
    try:
        wait_for(lambda: (run / "checkpoint.pt").exists(), "the first bench to train")
        second = start("bench", grid, "--root", tmp_path / "runs", cwd=tmp_path)
        assert second.wait(timeout=120) == 2
        assert f"held by PID {first.pid}" in error_line(second.log.read_text())
        trainer = start(*TRAIN, "--run-dir", run, cwd=tmp_path)
        assert trainer.wait(timeout=120) == 2
        holder = error_line(trainer.log.read_text()).split("held by PID ")[1].split()[0]
        assert int(holder) in children(first.pid), "the run folder is held by the bench's worker"
    finally:
        kill9(first)
