"""A person's run (actions piped into --agent human) joins the tables; export loads with datasets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from embodied.bench.budget import oracle_actions
from embodied.bench.export import export
from embodied.bench.rundir import RunDir
from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import get_suite
from embodied.cli import main as cli

REPO = Path(__file__).resolve().parents[2]


def bench_human(suite: str, seed: int, out: Path, frame_dir: Path, lines: list[str]):
    """``embodied bench run --agent human`` on tier 1 of ``suite``, one seed, with ``lines`` typed in."""
    argv = f"bench run --suite {suite} --tiers 1 --seeds {seed} --agent human --size 48".split()
    argv += ["--out", str(out), "--agent-opt", f"frame_dir={frame_dir}"]
    return subprocess.run(
        [sys.executable, "-m", "embodied.cli", *argv],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_human_plays_from_stdin_and_joins_the_leaderboard(tmp_path, capsys):
    spec = get_suite("MANIP").spec("1", 0)
    moves = [str(step["a0"]) for step in oracle_actions(spec)]
    # a typo (invalid, counted), an action by its number (0 = MoveAhead... undone by MoveBack), then the plan
    lines = ["dance wildly", "0", "MoveBack", *moves]
    out = tmp_path / "human"
    r = bench_human("MANIP", 0, out, tmp_path, lines)
    assert r.returncode == 0, r.stderr
    assert " 0. MoveAhead" in r.stdout and "frame:" in r.stdout
    assert (tmp_path / "embodied-human" / "frame_a0.png").exists()
    (res,) = RunDir(out).results()
    assert res["agent"] == "human" and res["success"] and res["steps"] == len(moves) + 3
    assert res["invalid_rate"] > 0 and res["key"] == "MANIP/1/0"
    oracle = tmp_path / "oracle"
    run(RunSpec([get_suite("MANIP")], "oracle", oracle, tiers=["1"], seeds=[0], size=48, frames="none"))
    assert cli(["bench", "compare", str(oracle), str(out)]) == 0
    table = capsys.readouterr().out
    assert "human" in table and "oracle" in table


def test_human_end_of_input_is_done(tmp_path):
    out = tmp_path / "human"
    r = bench_human("NAV", 3, out, tmp_path, ["RotateLeft"])
    assert r.returncode == 0, r.stderr
    (res,) = RunDir(out).results()
    assert not res["success"] and res["steps"] == 2


def test_export_jsonl_with_image_files_loads_with_datasets(tmp_path, capsys):
    out = tmp_path / "run"
    run(
        RunSpec(
            [get_suite("MANIP")],
            "tests.bench.agents:Talker",
            out,
            tiers=["1"],
            episodes=2,
            size=48,
            frames="all",
        )
    )
    n = export(out, tmp_path / "ds")
    total = sum(r["steps"] for r in RunDir(out).results())
    assert n == {"episodes": 2, "records": total}
    rows = [json.loads(x) for x in (tmp_path / "ds/data.jsonl").read_text().splitlines()]
    assert rows[0]["rationale"].startswith("I will") and rows[0]["prompt"] and rows[0]["action"]
    assert all((tmp_path / "ds" / r["image"]).stat().st_size > 100 for r in rows)
    assert cli(["bench", "export", str(out), "--out", f"{tmp_path}/ds2/"]) == 0  # the docs' 'ds/'
    said = capsys.readouterr().out.strip()
    assert (
        said
        == f"exported {total} steps of 2 episodes to {tmp_path}/ds2/data.jsonl (images in {tmp_path}/ds2/images/)"
    )
    datasets = pytest.importorskip("datasets", reason="the datasets package is not installed")
    ds = datasets.load_dataset(
        "json", data_files=str(tmp_path / "ds/data.jsonl"), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert len(ds) == total and {"prompt", "image", "rationale", "action"} <= set(ds.column_names)
    assert ds[0]["action"] == rows[0]["action"]


def test_export_refuses_a_run_without_frames(tmp_path, capsys):
    out = tmp_path / "run"
    run(RunSpec([get_suite("MANIP")], "oracle", out, tiers=["1"], episodes=1, size=48, frames="gif"))
    assert cli(["bench", "export", str(out), "--format", "jsonl", "--out", str(tmp_path / "ds")]) == 2
    assert "--frames all" in capsys.readouterr().err
