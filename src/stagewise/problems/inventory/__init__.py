"""Multi-echelon inventory management: SafeOR-Gym InvMgmtEnv (Appendix A.6)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="InvMgmt",
        slug="inventory",
        summary=(
            "Multi-echelon inventory management with lead times and backlog "
            "(SafeOR-Gym A.6; demand='stochastic': Normal draws each episode; "
            "uncertainty='forecast': AR(1) errors around the published demand)"
        ),
        env="stagewise.problems.inventory.env:InvMgmtEnv",
        solve="stagewise.problems.inventory.model:solve",
        policies={
            "optimal": "stagewise.problems.inventory.model:optimal_policy",
            "mpc": "stagewise.problems.inventory.model:mpc_policy",
            "clairvoyant": "stagewise.problems.inventory.model:clairvoyant_policy",
        },
        stochastic=False,
        aliases=("invmgmt",),
    )
)
