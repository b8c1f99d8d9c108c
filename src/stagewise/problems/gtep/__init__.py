"""Generation and transmission expansion planning: SafeOR-Gym GTEPEnv (Appendix A.4)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="GTEP",
        slug="gtep",
        summary=(
            "Generation and transmission expansion planning over regions and periods "
            "(SafeOR-Gym A.4; transmission=False: without lines)"
        ),
        env="stagewise.problems.gtep.env:GTEPEnv",
        solve="stagewise.problems.gtep.model:solve",
        policies={
            "optimal": "stagewise.problems.gtep.model:optimal_policy",
            "mpc": "stagewise.problems.gtep.model:mpc_policy",
            "clairvoyant": "stagewise.problems.gtep.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)
