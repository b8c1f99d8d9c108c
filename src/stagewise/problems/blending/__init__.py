"""Multiperiod blending (the pooling problem): SafeOR-Gym BlendingEnv (Appendix A.5)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="Blending",
        slug="blending",
        summary=(
            "Multiperiod blending with bilinear property balances and the in-out rule "
            "(SafeOR-Gym A.5; illegal_act_handling prop/disable/none; instance='large')"
        ),
        env="stagewise.problems.blending.env:BlendingEnv",
        solve="stagewise.problems.blending.model:solve",
        policies={
            "optimal": "stagewise.problems.blending.model:optimal_policy",
            "mpc": "stagewise.problems.blending.model:mpc_policy",
            "clairvoyant": "stagewise.problems.blending.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)
