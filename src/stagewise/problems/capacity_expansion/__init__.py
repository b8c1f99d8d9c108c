"""Capacity expansion under price and demand uncertainty (Giahi, MacKenzie, Bijari)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="CapacityExpansion",
        slug="capacity-expansion",
        summary=(
            "Multi-stage capacity expansion under lognormal price and demand uncertainty "
            "(Giahi et al., Eqs. 8/10)"
        ),
        env="stagewise.problems.capacity_expansion.env:CapacityExpansionEnv",
        solve="stagewise.problems.capacity_expansion.dp:solve",
        policies={
            "never-expand": "stagewise.problems.capacity_expansion.baselines:never_expand",
            "myopic": "stagewise.problems.capacity_expansion.baselines:myopic",
            "optimal": "stagewise.problems.capacity_expansion.dp:optimal_policy",
        },
        plot="stagewise.problems.capacity_expansion.plots:plot_policy_maps",
        reproduce="stagewise.bench.capacity_expansion:reproduce",
        reproduce_help=(
            "the DQN paper's Table I and example 1.\n"
            "  --cells all|table1|example1  cells to run (default all)\n"
            "  --episodes N                 Monte-Carlo episodes per policy (default 20000)\n"
            "  --seed K                     DQN seed (default 0)\n"
            "  --dqn_episodes N             DQN training episodes per cell (default 16000;"
            " 24000 at T = 5)\n"
            "  time: the default takes about 17 min on 2 cores; a quick check, "
            "--cells example1 --episodes 2000 --dqn_episodes 2000, about 30 s"
        ),
    )
)
