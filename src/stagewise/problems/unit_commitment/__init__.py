"""Unit commitment: SafeOR-Gym UCEnv (Appendix A.3), single bus (v0) and four buses (v1)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="UnitCommitment",
        slug="unit-commitment",
        summary=(
            "Unit commitment with min up/down times, ramping, reserve and DC lines "
            "(SafeOR-Gym A.3; variant v0 one bus, v1 four buses)"
        ),
        env="stagewise.problems.unit_commitment.env:UnitCommitmentEnv",
        solve="stagewise.problems.unit_commitment.model:solve",
        policies={
            "optimal": "stagewise.problems.unit_commitment.model:optimal_policy",
            "mpc": "stagewise.problems.unit_commitment.model:mpc_policy",
            "clairvoyant": "stagewise.problems.unit_commitment.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)
