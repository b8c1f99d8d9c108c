"""Where the published SafeOR-Gym case-study files lie inside the repository (tests/data)."""

from pathlib import Path

PUBLISHED_CONFIGS = Path(__file__).resolve().parent / "data" / "safeor_configs"


def published(problem: str, name: str) -> Path:
    """``tests/data/safeor_configs/<problem>/<name>``; fails loudly if it is not there."""
    path = PUBLISHED_CONFIGS / problem / name
    if not path.is_file():
        raise FileNotFoundError(f"published case-study file {path} is missing from the repository")
    return path
