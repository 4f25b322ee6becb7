"""Ray: a local Ray instance started by the test (``ray.init`` in the test process), the CLI joining it; two actors
each owning an engine, the same results as the local run."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from embodied.bench.rundir import RunDir
from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import get_suite

pytest.importorskip("ray", reason="the optional extra 'ray' is not installed")
REPO = Path(__file__).resolve().parents[2]
STABLE = ("success", "progress", "spl", "steps", "scene_hash")


@pytest.mark.slow
def test_ray_run_matches_the_local_run(tmp_path):
    import ray

    # a local Ray head owned by this test process (ray.shutdown() stops exactly it); the CLI joins it
    # (a short temp dir: Ray's Unix socket paths must stay under 107 bytes)
    short = tempfile.mkdtemp(prefix="ray19-", dir="/tmp")
    ctx = ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        _temp_dir=short,
        log_to_driver=False,
    )
    address = ctx.address_info["gcs_address"]
    try:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "embodied.cli",
                "bench",
                "run",
                "--suite",
                "MANIP",
                "--tiers",
                "1,2",
                "--episodes",
                "2",
                "--agent",
                "oracle",
                "--out",
                str(tmp_path / "ray_run"),
                "--size",
                "48",
                "--ray",
                address,
                "--workers",
                "2",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=600,
        )
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        ray.shutdown()
        shutil.rmtree(short, ignore_errors=True)
    run(RunSpec([get_suite("MANIP")], "oracle", tmp_path / "local", tiers=["1", "2"], episodes=2, size=48))
    a, b = (
        {x["key"]: [x[f] for f in STABLE] for x in RunDir(tmp_path / d).results()}
        for d in ("local", "ray_run")
    )
    assert a == b and len(a) == 4
    assert RunDir(tmp_path / "ray_run").config()["ray"] == address
