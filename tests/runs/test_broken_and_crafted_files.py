"""Run folders a user broke or crafted: one `error:` line naming the file, exit code 2, and no
code from a file is ever run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from stagewise.agents.common.checkpoint import load_torch, save_torch
from stagewise.core.files import RunFileError
from tests.runs.helpers import PPO_FLAGS, cli, error_line

SHORT = [
    "--T",
    "3",
    "--K",
    "2",
    "--agent",
    "ppo",
    "--steps",
    "512",
    "--hp",
    "steps_per_epoch=256",
    "--hp",
    "num_envs=2",
    "--hp",
    "hidden=[8]",
]


class Payload:
    """Pickles as a call to os.system: what a crafted checkpoint would smuggle in."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def run(tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    code, output = cli("train", "capacity-expansion", *SHORT, "--run-dir", folder)
    assert code == 0, output
    return folder


def evaluate(run: Path) -> tuple[int, str]:
    return cli(
        "evaluate", "capacity-expansion", "--T", "3", "--K", "2", "--run", run, "--episodes", "5"
    )


def test_a_crafted_policy_is_refused_without_running_its_code(run: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"state_dict": Payload(marker)}, run / "policy.pt")
    code, output = evaluate(run)
    assert code == 2 and "policy.pt was refused" in error_line(output)
    assert not marker.exists()


def test_a_crafted_checkpoint_is_refused_on_resume(run: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"epoch": Payload(marker)}, run / "checkpoint.pt")
    code, output = cli("train", "capacity-expansion", *SHORT, "--run-dir", run)
    assert code == 2 and "checkpoint.pt was refused" in error_line(output)
    assert not marker.exists()


def test_missing_policy_is_named(run: Path) -> None:
    (run / "policy.pt").unlink()
    code, output = evaluate(run)
    assert code == 2 and "policy.pt is missing" in error_line(output)


@pytest.mark.parametrize("name", ["policy.pt", "run.json"])
def test_truncated_files_are_named_for_evaluate(run: Path, name: str) -> None:
    data = (run / name).read_bytes()
    (run / name).write_bytes(data[: len(data) // 2])
    code, output = evaluate(run)
    assert code == 2 and f"{name} is truncated" in error_line(output)


def test_truncated_checkpoint_is_named_on_resume(run: Path) -> None:
    data = (run / "checkpoint.pt").read_bytes()
    (run / "checkpoint.pt").write_bytes(data[:100])
    code, output = cli("train", "capacity-expansion", *SHORT, "--run-dir", run)
    assert code == 2 and "checkpoint.pt is truncated" in error_line(output)


def test_truncated_run_json_is_named_on_resume(run: Path) -> None:
    (run / "run.json").write_text('{"problem": "capac')
    code, output = cli("train", "capacity-expansion", *SHORT, "--run-dir", run)
    assert code == 2 and "run.json is truncated" in error_line(output)


def test_no_temporary_files_are_left_in_a_run_folder(run: Path) -> None:
    assert sorted(p.name for p in run.iterdir()) == [
        ".lock",
        "checkpoint.pt",
        "policy.pt",
        "progress.csv",
        "run.json",
    ]


def test_saved_files_hold_only_tensors_and_plain_data(run: Path) -> None:
    for name in ("policy.pt", "checkpoint.pt"):
        assert torch.serialization.get_unsafe_globals_in_checkpoint(run / name) == []


def test_numpy_arrays_and_spaces_round_trip_through_plain_storage(tmp_path: Path) -> None:
    import gymnasium as gym
    import numpy as np

    space = gym.spaces.Tuple((gym.spaces.MultiBinary(2), gym.spaces.Box(-1, 1, (3,))))
    payload = {"a": np.arange(6, dtype=np.uint32).reshape(2, 3), "space": space, "t": (1, None)}
    save_torch(tmp_path / "x.pt", payload)
    back = load_torch(tmp_path / "x.pt", "test file")
    assert back["a"].dtype == np.uint32 and back["a"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back["space"] == space and back["t"] == (1, None)
    with pytest.raises(TypeError, match="object array"):
        save_torch(tmp_path / "y.pt", {"bad": np.array([object()])})
    with pytest.raises(RunFileError, match="is missing"):
        load_torch(tmp_path / "none.pt", "test file")


def test_ppo_flags_of_the_kill_tests_are_valid_settings() -> None:
    code, output = cli("train", "capacity-expansion", *PPO_FLAGS, "--hp", "seed=x")
    assert code == 2 and "seed = 'x' must be int" in error_line(output)
