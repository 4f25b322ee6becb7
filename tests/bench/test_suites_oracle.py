"""Every available suite, every tier, every seed: the oracle succeeds in the engine, in exactly the
steps the lock file froze (so budgets and SPL's shortest paths are right). Slow: run with -m slow."""

from __future__ import annotations

import pytest

from embodied.bench.rundir import RunDir
from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import load_suites


@pytest.mark.slow
def test_oracle_solves_every_episode_of_every_suite(tmp_path):
    suites = [s for s in load_suites().values() if s.availability()[0]]
    m = run(RunSpec(suites, "oracle", tmp_path / "oracle", workers=2, size=48, frames="none"))
    results = RunDir(tmp_path / "oracle").results()
    assert len(results) == sum(len(s.episodes()) for s in suites)
    failed = [r["key"] for r in results if not r["success"] or r["steps"] != r["optimal_steps"]]
    assert failed == []
    for name, s in m["suites"].items():
        for tier, g in s["tiers"].items():
            assert g["success"]["mean"] == 1.0 and g["episodes"] >= 10, (name, tier)
