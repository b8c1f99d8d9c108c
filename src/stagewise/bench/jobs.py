"""The jobs of a benchmark grid: train and evaluate an agent, evaluate a named policy, or
record that an agent cannot act on a problem.

Each job owns its run folder (locked, fingerprinted: :mod:`stagewise.bench.runs`) and
writes ``evaluation.json`` last: the problem and its case label, the method, the
evaluation settings and summary (reward and cost mean and spread over the episodes,
per constraint family), the training budget and cost limit, and the wall and CPU
seconds of training (or solving) and of the evaluation apart.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

from stagewise.bench.curves import training_curve
from stagewise.bench.runs import RunFolder, RunRecord
from stagewise.core.config import load_config
from stagewise.core.files import write_json_atomic
from stagewise.core.policy import evaluate
from stagewise.core.registry import get_problem, load_object
from stagewise.core.safety_env import SAFETY_SUFFIX, make_safe_env

EVALUATION = "evaluation.json"
FAILED = "failed.json"


def problem_config(problem: str, config: dict[str, Any] | str | None) -> Any:
    """The validated config of ``problem`` from a grid entry's ``config``."""
    return load_config(get_problem(problem).env_class().config_model, config)


def agent_record(
    problem: str,
    config: dict[str, Any],
    agent: str,
    seed: int,
    settings: Any,
    safety_layer: dict[str, Any] | None = None,
) -> RunRecord:
    """The fingerprint of an agent run (``safety_layer``: the layer's options, if the run
    steps through it)."""
    from stagewise.agents import get_agent

    method_config = dataclasses.asdict(settings)
    if safety_layer is not None:
        method_config["safety_layer"] = dict(safety_layer)
    return RunRecord(
        problem=problem,
        method=agent,
        kind="agent",
        seed=seed,
        config=config,
        method_config=method_config,
        action_mode=get_agent(agent).action_mode,
    )


def method_record(problem: str, config: dict[str, Any], method: str, kind: str) -> RunRecord:
    """The fingerprint of a named policy (``kind="baseline"``) or of an agent that cannot
    act on the problem (``kind="unsupported"``); evaluation settings live in the record."""
    return RunRecord(
        problem=problem, method=method, kind=kind, seed=None, config=config, method_config={}
    )


def evaluate_baseline(
    problem: str,
    case: str,
    config: dict[str, Any] | str | None,
    policy: str,
    run_dir: str,
    evaluation: dict[str, int],
) -> dict[str, Any]:
    """Evaluate a named policy of ``problem``; write and return its evaluation record."""
    from stagewise.core.policy import RandomPolicy

    spec = get_problem(problem)
    cfg = problem_config(problem, config)
    record = method_record(problem, cfg.model_dump(), policy, "baseline")
    with RunFolder(run_dir, record, purpose="baseline evaluation"):
        env = gym.make(spec.env_id, config=cfg)
        wall, cpu = time.perf_counter(), time.process_time()
        pol = RandomPolicy(0) if policy == "random" else load_object(spec.policies[policy])(env)
        solve_seconds, solve_cpu = time.perf_counter() - wall, time.process_time() - cpu
        summary = _evaluated(
            {"problem": problem, "case": case, "method": policy, "kind": "baseline", "seed": None},
            pol,
            env,
            evaluation,
        )
        summary |= {"train_seconds": solve_seconds, "train_cpu_seconds": solve_cpu}
        write_json_atomic(Path(run_dir) / EVALUATION, summary | {"config": cfg.model_dump()})
    return summary


def train_and_evaluate(
    problem: str,
    case: str,
    config: dict[str, Any] | str | None,
    agent: str,
    settings: dict[str, Any],
    seed: int,
    run_dir: str,
    evaluation: dict[str, int],
    safety_layer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``agent`` with ``settings`` on ``problem`` (resuming a run with the same
    fingerprint), then evaluate it; the run folder is locked throughout. With
    ``safety_layer`` (``{"projection_weight": w}``) the agent trains and is evaluated
    through the problem's safety layer, and its method is ``<agent>+safety``."""
    import torch

    from stagewise.agents import get_agent

    torch.set_num_threads(1)
    spec = get_problem(problem)
    agent_spec = get_agent(agent)
    cfg = problem_config(problem, config)
    agent_cfg = agent_spec.settings(settings)
    record = agent_record(problem, cfg.model_dump(), agent, seed, agent_cfg, safety_layer)
    mode = agent_spec.action_mode
    env_fn = functools.partial(gym.make, spec.env_id, config=cfg, action_mode=mode)
    method = agent
    if safety_layer is not None:
        weight = safety_layer["projection_weight"]
        env_fn = functools.partial(make_safe_env, spec.env_id, weight, config=cfg, action_mode=mode)
        method = agent + SAFETY_SUFFIX
    with RunFolder(run_dir, record):
        wall, cpu = time.perf_counter(), time.process_time()
        policy = agent_spec.train(env_fn, agent_cfg, Path(run_dir))
        train_seconds, train_cpu = time.perf_counter() - wall, time.process_time() - cpu
        head = {"problem": problem, "case": case, "method": method, "kind": "agent", "seed": seed}
        summary = _evaluated(head, policy, env_fn(), evaluation)
        curve = training_curve(Path(run_dir) / "progress.csv")
        final_reward, final_cost = curve.final() if curve else (float("nan"), float("nan"))
        summary |= {
            "train_seconds": train_seconds,
            "train_cpu_seconds": train_cpu,
            "steps": _planned_steps(agent_cfg),
            "cost_limit": agent_cfg.cost_limit if agent_spec.constrained else None,
            "train_final_reward": final_reward,
            "train_final_cost": final_cost,
        }
        write_json_atomic(Path(run_dir) / EVALUATION, summary | {"config": cfg.model_dump()})
    return summary


def record_unsupported(
    problem: str,
    case: str,
    config: dict[str, Any] | str | None,
    agent: str,
    reason: str,
    run_dir: str,
    evaluation: dict[str, int],
) -> dict[str, Any]:
    """Write the record that ``agent`` cannot act on ``problem`` (the report shows why)."""
    cfg = problem_config(problem, config)
    record = method_record(problem, cfg.model_dump(), agent, "unsupported")
    summary = {
        "problem": problem,
        "case": case,
        "method": agent,
        "kind": "unsupported",
        "seed": None,
        "reason": reason,
        "evaluation": evaluation,
    }
    with RunFolder(run_dir, record, purpose="grid"):
        write_json_atomic(Path(run_dir) / EVALUATION, summary)
    return summary


def _evaluated(head: dict[str, Any], policy: Any, env: gym.Env, evaluation: dict[str, int]) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    result = evaluate(policy, env, evaluation["episodes"], evaluation["seed"])
    return {
        **head,
        "evaluation": evaluation,
        **result.summary(),
        "eval_seconds": time.perf_counter() - wall,
        "eval_cpu_seconds": time.process_time() - cpu,
    }


def _planned_steps(settings: Any) -> int:
    """Environment steps the training takes (whole epochs; once per restart)."""
    steps = settings.planned_steps() if hasattr(settings, "planned_steps") else settings.total_steps
    return int(steps) * int(getattr(settings, "restarts", 1))
