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
            "sp": "stagewise.problems.copper_blending.sp:sp",
            "sp-open": "stagewise.problems.copper_blending.sp:sp_open",
        },
        reproduce="stagewise.bench.copper:reproduce",
        reproduce_help=(
            "the copper paper's orthogonal experiment (Figs. 4-9).\n"
            "  --repeats N                instances per cell (default 10)\n"
            "  --episodes N               evaluation episodes (default 1000)\n"
            "  --seed K                   training and evaluation seed (default 0)\n"
            "  --backend local|ray|inline, --workers N   executor (default local, 2)\n"
            "  --steps N                  DAH-DDPG training steps (agent default if unset)\n"
            "  --open_loop agent|rule     Fig. 9 by a second agent or by the tuned rule"
            " (default agent)\n"
            "  --scales, --mixes          comma lists restricting the grid"
            " (e.g. 5E24M,20E100M and LH,MH)\n"
            "  --sp_scenarios N, --sp_leaves K, --sp_episodes E   the sp reference policy"
            " (default 20, 20, 200; --sp_scenarios 0 leaves it out)\n"
            "  time: the default (10 repeats) takes about 8 h on 2 cores, --repeats 1"
            " --open_loop rule about 50 min; a quick check, --repeats 1 --open_loop rule"
            " --scales 5E24M --mixes LH --steps 5000 --episodes 200, about 2 min"
        ),
    )
)
