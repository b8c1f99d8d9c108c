"""Problem-agnostic machinery: environments, action codecs, configs, registry, policies."""

from stagewise.core.config import ConfigError, ProblemConfig, load_config
from stagewise.core.env import (
    ACTION_RANGE,
    CMDPWrapper,
    ConstrainedEnv,
    ConstrainedVectorEnv,
    Dynamics,
    Transition,
)
from stagewise.core.policy import (
    EpisodeRecord,
    Evaluation,
    Policy,
    RandomPolicy,
    evaluate,
    run_episode,
)
from stagewise.core.registry import ProblemSpec, get_problem, problems, register
from stagewise.core.solve import PlanPolicy, Solution, replay
from stagewise.core.spaces import ActionCodec, DecisionField

__all__ = [
    "ACTION_RANGE",
    "ActionCodec",
    "CMDPWrapper",
    "ConfigError",
    "ConstrainedEnv",
    "ConstrainedVectorEnv",
    "DecisionField",
    "Dynamics",
    "EpisodeRecord",
    "Evaluation",
    "PlanPolicy",
    "Policy",
    "ProblemConfig",
    "ProblemSpec",
    "RandomPolicy",
    "Solution",
    "Transition",
    "evaluate",
    "get_problem",
    "load_config",
    "problems",
    "register",
    "replay",
    "run_episode",
]
