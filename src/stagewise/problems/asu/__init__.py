"""Liquid air separation unit production scheduling: SafeOR-Gym ASUEnv (Appendix A.9)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="ASU",
        slug="asu",
        summary=(
            "Hourly production scheduling of a liquid air separation unit for daily "
            "LIN/LOX/LAR demands (SafeOR-Gym A.9)"
        ),
        env="stagewise.problems.asu.env:ASUEnv",
        solve="stagewise.problems.asu.model:solve",
        policies={
            "optimal": "stagewise.problems.asu.model:optimal_policy",
            "mpc": "stagewise.problems.asu.mpc:mpc_policy",
            "clairvoyant": "stagewise.problems.asu.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)
