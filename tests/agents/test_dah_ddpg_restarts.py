"""DAH-DDPG best-of-k restarts: the choice, resume, parallel restarts, config checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from stagewise.agents.dah_ddpg import (
    SELECTION_SEED,
    DAHDDPGConfig,
    greedy_evaluation,
    load_policy,
    train,
)
from stagewise.core.files import FolderBusyError, FolderLock
from tests.agents.test_dah_ddpg import _assert_same, _parameters, _toy_config
from tests.agents.toy_tasks import StopOrContinue


def _restart_config(**overrides: Any) -> DAHDDPGConfig:
    # short runs: the seeds end at visibly different policies
    settings = {
        "total_steps": 150,
        "eval_interval": 75,
        "restarts": 3,
        "restart_jobs": 1,
        "selection_episodes": 30,
    }
    return _toy_config(**{**settings, **overrides})


def _summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "restarts.json").read_text())


def _saved_actors(path: Path) -> dict[str, torch.Tensor]:
    saved = torch.load(path, weights_only=True)
    return {f"{n}.{k}": v for n in ("f_actor", "s_actor") for k, v in saved[n].items()}


def test_restarts_keep_the_policy_with_the_best_selection_score(tmp_path: Path) -> None:
    cfg = _restart_config()
    policy = train(StopOrContinue, cfg, tmp_path)
    summary = _summary(tmp_path)
    scores = [entry["return"] for entry in summary["restarts"]]
    assert [entry["seed"] for entry in summary["restarts"]] == [0, 1, 2]
    assert len(set(scores)) == 3, scores
    assert summary["selected"] == scores.index(max(scores))
    chosen = tmp_path / f"restart_{summary['selected']}"
    _assert_same(_saved_actors(tmp_path / "policy.pt"), _saved_actors(chosen / "policy.pt"))
    assert (tmp_path / "progress.csv").read_text() == (chosen / "progress.csv").read_text()
    # the recorded scores are the paired greedy evaluation of each restart's policy
    env = StopOrContinue()
    for i, score in enumerate(scores):
        replay = greedy_evaluation(load_policy(tmp_path / f"restart_{i}"), env, 30, SELECTION_SEED)
        assert replay["return"] == pytest.approx(score)
    assert greedy_evaluation(policy, env, 30, SELECTION_SEED)["return"] == pytest.approx(
        max(scores)
    )


def test_each_restart_is_the_single_run_of_its_seed(tmp_path: Path) -> None:
    train(StopOrContinue, _restart_config(restarts=2, seed=5), tmp_path / "restarts")
    train(StopOrContinue, _restart_config(restarts=1, seed=6), tmp_path / "single")
    _assert_same(_parameters(tmp_path / "restarts" / "restart_1"), _parameters(tmp_path / "single"))


class _Interrupt(Exception):
    pass


def test_an_interrupted_multi_restart_run_resumes_to_the_same_choice(tmp_path: Path) -> None:
    cfg = _restart_config(restarts=2, checkpoint_interval=50)
    train(StopOrContinue, cfg, tmp_path / "whole")
    steps = 0

    def interrupt_inside_the_second_restart(n: int) -> None:
        nonlocal steps
        steps += n
        if steps >= 230:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train(
            StopOrContinue, cfg, tmp_path / "resumed", progress=interrupt_inside_the_second_restart
        )
    assert (tmp_path / "resumed" / "restart_0" / "policy.pt").exists()
    assert not (tmp_path / "resumed" / "restart_1" / "policy.pt").exists()
    train(StopOrContinue, cfg, tmp_path / "resumed")
    assert _summary(tmp_path / "resumed") == _summary(tmp_path / "whole")
    for i in range(2):
        _assert_same(
            _parameters(tmp_path / "whole" / f"restart_{i}"),
            _parameters(tmp_path / "resumed" / f"restart_{i}"),
        )
    _assert_same(
        _saved_actors(tmp_path / "whole" / "policy.pt"),
        _saved_actors(tmp_path / "resumed" / "policy.pt"),
    )


def test_restarts_in_processes_match_sequential_restarts_and_report_progress(
    tmp_path: Path,
) -> None:
    cfg = _restart_config(restarts=2, total_steps=151)
    train(StopOrContinue, cfg, tmp_path / "sequential")
    reported: list[int] = []
    parallel = _restart_config(restarts=2, restart_jobs=2, total_steps=151)
    train(StopOrContinue, parallel, tmp_path / "parallel", progress=reported.append)
    assert _summary(tmp_path / "parallel") == _summary(tmp_path / "sequential")
    _assert_same(
        _saved_actors(tmp_path / "parallel" / "policy.pt"),
        _saved_actors(tmp_path / "sequential" / "policy.pt"),
    )
    assert sum(reported) == 2 * cfg.total_steps


def test_an_env_fn_that_cannot_be_pickled_trains_the_restarts_one_after_another(
    tmp_path: Path,
) -> None:
    cfg = _restart_config(restarts=2, restart_jobs=2)
    with pytest.warns(RuntimeWarning, match="one after another"):
        train(lambda: StopOrContinue(), cfg, tmp_path / "lambda")
    train(StopOrContinue, _restart_config(restarts=2), tmp_path / "sequential")
    assert _summary(tmp_path / "lambda") == _summary(tmp_path / "sequential")


def test_bad_restart_settings_are_reported_together() -> None:
    with pytest.raises(ValueError) as err:
        DAHDDPGConfig(restarts=0, restart_jobs=0, selection_episodes=0)
    message = str(err.value)
    for name in ("restarts must be >= 1", "restart_jobs must be >= 1", "selection_episodes"):
        assert name in message


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_restart_folder_held_by_another_trainer_is_refused(tmp_path: Path, jobs: int) -> None:
    cfg = _restart_config(restarts=2, restart_jobs=jobs)
    with FolderLock(tmp_path / "restart_1"), pytest.raises(FolderBusyError, match="restart_1"):
        train(StopOrContinue, cfg, tmp_path)
    assert not (tmp_path / "restart_1" / "progress.csv").exists()
