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
    )
)
