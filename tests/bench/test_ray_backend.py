"""The Ray backend: a tiny grid on a local Ray, and on a two-node cluster that loses a node
mid-grid; run files travel to the driver, which writes them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import yaml

from stagewise.bench.grid import load_grid, run_grid
from stagewise.bench.ray_backend import RayOptions, pack_folder, unpack_folder

ray = pytest.importorskip("ray", reason="RAY IS NOT INSTALLED: the Ray backend is untested")


def grid(folder: Path, name: str, seeds: list[int], steps: int) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "experiment": name,
                "problems": [{"name": "capacity-expansion", "config": {"K": 2, "T": 3}}],
                "agents": [{"name": "dqn", "steps": steps, "hp": {"learning_starts": 50}}],
                "seeds": seeds,
                "baselines": ["never-expand"],
                "evaluation": {"episodes": 20, "seed": 100},
            }
        )
    )
    return path


def test_folders_travel_as_files_and_come_back_atomically(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "restart_0").mkdir(parents=True)
    (run / "restart_0" / "policy.pt").write_bytes(b"weights")
    (run / "run.json").write_text("{}")
    (run / ".lock").write_text("1")
    files = pack_folder(run)
    assert files == {"restart_0/policy.pt": b"weights", "run.json": b"{}"}
    unpack_folder(tmp_path / "copy", files)
    assert (tmp_path / "copy" / "restart_0" / "policy.pt").read_bytes() == b"weights"
    with pytest.raises(ValueError, match="outside its run folder"):
        unpack_folder(tmp_path / "copy", {"../escape": b"x"})


@pytest.fixture
def cluster():
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    yield nodes, worker
    ray.shutdown()
    nodes.shutdown()


def test_grid_on_a_two_node_cluster_survives_losing_a_node(tmp_path: Path, cluster) -> None:
    nodes, worker = cluster
    spec = load_grid(grid(tmp_path, "cluster", seeds=[0, 1, 2], steps=1500))
    root = tmp_path / "runs"
    records: list = []
    thread = threading.Thread(
        target=lambda: records.extend(
            run_grid(spec, root, backend="ray", ray=RayOptions(address=nodes.address))
        )
    )
    thread.start()
    time.sleep(8.0)  # the first jobs are running on both nodes
    nodes.remove_node(worker)
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert len(records) == 4 and all(isinstance(r, dict) for r in records), records
    for seed in (0, 1, 2):
        run = root / "cluster" / "capacity-expansion" / "dqn" / f"seed{seed}"
        assert json.loads((run / "evaluation.json").read_text())["episodes"] == 20
        assert {"run.json", "policy.pt", "checkpoint.pt", "progress.csv"} <= {
            p.name for p in run.iterdir()
        }
        assert not list(run.glob(".*.tmp"))
