"""Multistage stochastic blending of recycled copper alloys (DAH-DDPG + CCP paper)."""

from stagewise.core.registry import ProblemSpec, register

_BASELINES = "stagewise.problems.copper_blending.baselines"

register(
    ProblemSpec(
        name="CopperBlending",
        slug="copper-blending",
        summary=(
            "Multistage stochastic blending of recycled copper alloys with a chance-constrained "
            "LP lower level (DAH-DDPG/CCP paper, Sections 2-3)"
        ),
        env="stagewise.problems.copper_blending.env:CopperBlendingEnv",
        solve="stagewise.problems.copper_blending.bound:solve",
        policies={
            "lp": f"{_BASELINES}:lp",
            "ccp": f"{_BASELINES}:ccp",
            "open-loop": f"{_BASELINES}:open_loop",
            "rule": f"{_BASELINES}:rule",
        },
        reproduce="stagewise.bench.copper:reproduce",
    )
)
