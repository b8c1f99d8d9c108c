"""stagewise: sequential decisions under uncertainty and constraints.

Importing the package registers every problem with Gymnasium as
``stagewise/<Name>-v0``; :func:`problems` lists them.
"""

from stagewise import problems as _problems  # noqa: F401  (registers every problem)
from stagewise.core import CMDPWrapper, ConstrainedEnv, Solution, evaluate, replay
from stagewise.core.registry import get_problem, problems
from stagewise.core.safety import SafetyLayer
from stagewise.core.safety_env import SafetyLayerEnv

__version__ = "0.1.0"
__all__ = [
    "CMDPWrapper",
    "ConstrainedEnv",
    "SafetyLayer",
    "SafetyLayerEnv",
    "Solution",
    "__version__",
    "evaluate",
    "get_problem",
    "problems",
    "replay",
]
