"""benchmarks/safety_layer.py compare: one run per projection weight, --hp, the problem's reward."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "safety_layer.py"


def load_script():
    spec = importlib.util.spec_from_file_location("safety_layer_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse(module, *argv: str):
    return module.parser().parse_args(["compare", *argv])


def test_one_layer_run_per_weight_and_hp_on_every_run(tmp_path: Path) -> None:
    module = load_script()
    args = parse(
        module,
        "--agents", "ppo-lag",
        "--projection-weight", "0", "0.1", "1",
        "--hp", "num_envs=10", "--hp", "actor_lr=0.001",
        "--runs", str(tmp_path), "--seed", "2",
    )  # fmt: skip
    runs = module.train_commands("gtep", args)
    labels = [label for label, *_ in runs]
    assert labels == ["ppo-lag", "ppo-lag+safety", "ppo-lag+safety-w0.1", "ppo-lag+safety-w1"]
    for label, weight, run_dir, command in runs:
        assert run_dir == tmp_path / "gtep" / label / "seed2"
        assert command[command.index("--steps") + 1] == "100000"
        assert command[command.index("--seed") + 1] == "2"
        assert [c for i, c in enumerate(command) if "--hp" in command[i - 1 : i + 1]] == [
            "--hp",
            "num_envs=10",
            "--hp",
            "actor_lr=0.001",
        ]
        assert ("--safety-layer" in command) == (label != "ppo-lag")
        if weight:
            assert command[command.index("--projection-weight") + 1] == f"{weight:g}"
        else:
            assert "--projection-weight" not in command


def test_layer_only_and_the_step_cap(tmp_path: Path) -> None:
    module = load_script()
    args = parse(
        module, "--agents", "ppo-lag", "--layer-only", "--projection-weight", "0.5",
        "--max-steps", "100000", "--runs", str(tmp_path),
    )  # fmt: skip
    (label, weight, _, command), *rest = module.train_commands("rtn", args)
    assert not rest and label == "ppo-lag+safety-w0.5" and weight == 0.5
    assert command[command.index("--steps") + 1] == "100000"  # the budget is 384000
    (*_, command), *_ = module.train_commands("unit-commitment", args)
    assert command[command.index("--variant") + 1] == "v0"


def test_the_problem_reward_leaves_out_the_projection_term() -> None:
    module = load_script()
    result = {"reward_mean": -110.0, "reward_terms": {"projection": -10.0, "cost": -100.0}}
    assert module.problem_reward(result) == -100.0
    assert module.problem_reward({"reward_mean": 5.0, "reward_terms": {}}) == 5.0
