"""The benchmark harness end to end with real engines: suites, runs, resume, retries, metrics, CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embodied.bench.leaderboard import leaderboard
from embodied.bench.metrics import aggregate, fmt, mean_se, paired
from embodied.bench.rundir import RunDir
from embodied.bench.runner import RunSpec, run
from embodied.bench.suites import get_suite, load_suites
from embodied.cli import main as cli

REPO = Path(__file__).resolve().parents[2]
STABLE = (
    "success",
    "progress",
    "spl",
    "steps",
    "invalid_rate",
    "failed_interaction_rate",
    "loop_rate",
    "scene_hash",
)


def bench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "embodied.cli", "bench", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
    )


def test_suites_are_data_with_tiers_seeds_versions_and_frozen_budgets():
    suites = load_suites()
    assert {"NAV", "SEARCH", "MANIP", "ESC", "COLLAB"} <= set(suites)
    for s in suites.values():
        if not s.availability()[0]:
            continue
        assert len(s.tiers) >= 3 and all(len(t.seeds) >= 10 for t in s.tiers), s.name
        assert s.version >= 1 and s.lock_status() == "frozen", (s.name, s.lock_status())
        for t in s.tiers:  # the builders still produce the frozen scenes (hash check inside plan)
            p = s.plan(t.tier, t.seeds[0])
            assert p["budget"] > p["optimal"] > 0


def test_collab_scenes_have_two_or_three_agents_and_budgets_grow_with_tier():
    s = get_suite("COLLAB")
    assert [len(s.spec(t.tier, 0).agents) for t in s.tiers] == [2, 2, 3]
    for name in ("NAV", "ESC"):
        s = get_suite(name)
        means = [sum(s.plan(t.tier, k)["optimal"] for k in t.seeds) / len(t.seeds) for t in s.tiers]
        assert means == sorted(means) and means[0] < means[-1], (name, means)


def test_oracle_run_writes_config_results_replays_metrics(tmp_path):
    out = tmp_path / "run"
    m = run(
        RunSpec([get_suite("MANIP"), get_suite("COLLAB")], "oracle", out, tiers=["1"], episodes=1, size=64)
    )
    assert m["overall"]["success"]["mean"] == 1.0 and m["overall"]["spl"]["mean"] == 1.0
    rd = RunDir(out)
    cfg = rd.config()
    assert (
        cfg["suites"]["MANIP"]["version"] == 1
        and cfg["agent"] == "oracle"
        and cfg["episodes"]
        == [
            "MANIP/1/0",
            "COLLAB/1/0",
        ]
    )
    rs = rd.results()
    assert [r["key"] for r in rs] == ["MANIP/1/0", "COLLAB/1/0"] and all(r["version"] == 1 for r in rs)
    assert rs[1]["agents"] == 2
    for r in rs:
        assert (out / r["replay"]).stat().st_size > 1000
        steps = [
            json.loads(x) for x in (out / "episodes" / r["key"] / "steps.jsonl").read_text().splitlines()
        ]
        assert steps and steps[-1]["progress"] == 1.0
    assert json.loads((out / "metrics.json").read_text())["suites"]["COLLAB"]["tiers"]["1"]["episodes"] == 1
    # one episode per suite: the leaderboard shows no interval ('100.0' beside n = 1, never '± 0.0')
    board = leaderboard([str(out), str(out)])
    cells = [r["cells"] for r in board["rows"]]
    assert cells and all(c[4] == "1" and c[5] == "100.0" for c in cells), cells
    assert board["paired"] and all(p["n"] == 1 and p["text"] == "+0.0 pts" for p in board["paired"]), board[
        "paired"
    ]


def test_engine_crash_retries_the_episode_from_its_start(tmp_path):
    out = tmp_path / "run"
    agent = "tests.bench.agents:CrashOnce"
    m = run(
        RunSpec(
            [get_suite("NAV")],
            agent,
            out,
            tiers=["2"],
            episodes=1,
            size=64,
            agent_options={"marker": str(tmp_path / "crashed")},
        )
    )
    (r,) = RunDir(out).results()
    assert (tmp_path / "crashed").exists()
    assert r["retries"] == 1 and r["retry_errors"][0] and r["success"]  # StepRolledBack, or a reset socket
    assert r["steps"] == r["optimal_steps"]  # counted from the restart, not added to the lost attempt
    assert m["overall"]["retries"] == 1


def test_a_run_that_fails_at_set_up_leaves_no_half_run_directory(tmp_path):
    def start(out, agent):
        return run(RunSpec([get_suite("NAV")], agent, out, tiers=["1"], seeds=[0], size=32))

    out = tmp_path / "new" / "run"
    with pytest.raises(RuntimeError, match="no model weights"):
        start(out, "tests.bench.agents:Broken")
    assert not (tmp_path / "new").exists()  # was: config.json + staging/, pinning the broken agent
    mine = tmp_path / "mine"  # a directory the user made: only what the run added goes
    (mine / "staging").mkdir(parents=True)
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(RuntimeError):
        start(mine, "tests.bench.agents:Broken")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "staging"]
    start(out, "oracle")  # the fixed command is not refused as 'a run with other --agent'
    assert [r["success"] for r in RunDir(out).results()] == [True]


def test_telemetry_tokens_cost_and_captions(tmp_path):
    out = tmp_path / "run"
    m = run(RunSpec([get_suite("NAV")], "tests.bench.agents:Talker", out, tiers=["1"], episodes=2, size=64))
    g = m["suites"]["NAV"]["tiers"]["1"]
    r = RunDir(out).results()[0]
    assert (
        r["tokens"] == 110 * r["steps"]
        and r["images"] == r["steps"]
        and r["cost"] == pytest.approx(0.001 * r["steps"])
    )
    assert g["cost_per_success"] == pytest.approx(g["cost_total"] / 2)
    step = json.loads((out / "episodes/NAV/1/0/steps.jsonl").read_text().splitlines()[0])
    assert step["thought"].startswith("I will") and step["prompt"]


def test_kill_with_sigkill_and_resume_gives_the_same_metrics(tmp_path):
    args = ["run", "--suite", "NAV", "--tiers", "1", "--episodes", "5", "--agent", "random", "--size", "48"]
    full = tmp_path / "full"
    assert bench(*args, "--out", str(full)).returncode == 0
    cut = tmp_path / "cut"
    proc = subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", "bench", *args, "--out", str(cut)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (
        (cut / "results.jsonl").exists() and (cut / "results.jsonl").read_text().count("\n") >= 1
    ):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = RunDir(cut).results()
    assert 1 <= len(before) < 5, "killed midway"
    r = bench(*args, "--out", str(cut))
    assert r.returncode == 0, r.stderr
    lines = (cut / "results.jsonl").read_text().splitlines()
    keys = [json.loads(x)["key"] for x in lines]
    assert len(keys) == len(set(keys)) == 5, "every episode exactly once"
    a = {x["key"]: x for x in RunDir(full).results()}
    b = {x["key"]: x for x in RunDir(cut).results()}
    assert {k: [a[k][f] for f in STABLE] for k in a} == {k: [b[k][f] for f in STABLE] for k in b}
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (full, cut))
    for f in ("success", "progress", "spl", "steps", "loop_rate"):
        assert ma["overall"][f] == mb["overall"][f]
    assert json.loads((cut / "config.json").read_text())["resumed"] == 1


def test_torn_last_line_is_dropped_and_the_episode_rerun(tmp_path):
    out = tmp_path / "run"
    spec = RunSpec([get_suite("MANIP")], "oracle", out, tiers=["1"], episodes=2, size=48, frames="none")
    run(spec)
    raw = (out / "results.jsonl").read_bytes()
    (out / "results.jsonl").write_bytes(
        raw[: raw.rfind(b"\n", 0, len(raw) - 1) + 1] + b'{"key": "MANIP/1/1", "succ'
    )
    run(spec)
    keys = [json.loads(x)["key"] for x in (out / "results.jsonl").read_text().splitlines()]
    assert keys == ["MANIP/1/0", "MANIP/1/1"]


@pytest.mark.slow
def test_process_pool_runs_the_same_episodes(tmp_path):
    spec = dict(tiers=["1"], episodes=2, size=48, frames="none")
    run(RunSpec([get_suite("MANIP")], "random", tmp_path / "a", **spec))
    run(RunSpec([get_suite("MANIP")], "random", tmp_path / "b", workers=2, **spec))
    a, b = ({r["key"]: [r[f] for f in STABLE] for r in RunDir(tmp_path / d).results()} for d in "ab")
    assert a == b and len(a) == 2


def test_metrics_mean_se_and_paired_difference():
    assert mean_se([1, 0, 1, 0]) == (0.5, pytest.approx(0.2886751))
    a = [{"key": f"S/1/{i}", "suite": "S", "tier": "1", "success": i % 2} for i in range(4)]
    b = [{"key": f"S/1/{i}", "suite": "S", "tier": "1", "success": 1} for i in range(4)]
    d = paired(a, b)
    assert d["n"] == 4 and d["mean"] == 0.5 and d["se"] == pytest.approx(0.2886751)
    m = aggregate(b)
    assert m["suites"]["S"]["tiers"]["1"]["success"] == {"mean": 1.0, "se": 0.0, "n": 4}
    assert fmt(m["overall"]["success"], pct=True) == "100.0 ± 0.0"  # four agreeing episodes: a real 0
    one = aggregate(b[:1])["overall"]
    assert fmt(one["success"], pct=True) == "100.0" and fmt(one["steps"], digits=1) == "0.0"
    assert fmt(paired(a[:1], b[:1]), pct=True, sign=True, unit=" pts") == "+100.0 pts"
    assert fmt(one["success"], pct=True, unit=" %") == "100.0 %"


def test_cli_list_run_compare_and_one_line_errors(tmp_path, capsys):
    assert cli(["bench", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("NAV", "SEARCH", "MANIP", "ESC", "COLLAB", "ESC-MM", "GEN"):
        assert name in out
    a, b = str(tmp_path / "o"), str(tmp_path / "r")
    manip = ["run", "--suite", "MANIP", "--tiers", "1", "--episodes", "2", "--size", "48", "--frames", "none"]
    for agent, d in (("oracle", a), ("random", b)):
        assert cli(["bench", *manip, "--agent", agent, "--out", d]) == 0
    capsys.readouterr()
    assert cli(["bench", "compare", a, b]) == 0
    out = capsys.readouterr().out
    assert "leaderboard" in out and "paired difference" in out and "100.0 ± 0.0" in out
    (tmp_path / "afile").write_text("")
    for argv, needle in (
        (["run", "--suite", "NOPE", "--agent", "oracle", "--out", a], "unknown suite 'NOPE'"),
        (["run", "--suite", "NAV", "--agent", "wizard", "--out", a], "unknown agent 'wizard'"),
        (["run", "--suite", "NAV", "--tiers", "9", "--agent", "oracle", "--out", a], "no tier 9"),
        ([*manip, "--agent", "random", "--out", a], "holds a run with other --agent (oracle; now random)"),
        (
            ["run", "--suite", "MANIP,NAV", "--agent", "oracle", "--out", a],
            "holds a run with other --suite (MANIP v1; now MANIP v1, NAV v1): use another --out",
        ),
        (["compare", str(tmp_path / "missing")], "no such run directory"),
        (["report", str(tmp_path / "afile")], "afile: no such run directory"),  # was "File exists"
        (["run", "--suite", "GEN", "--agent", "oracle", "--out", a], "suite GEN is unavailable"),
        (["run", "--suite", "NAV", "--seeds", "x", "--agent", "oracle", "--out", a], "--seeds"),
    ):
        assert cli(["bench", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, err


def test_seeds_outside_a_suite_are_refused_and_run_as_their_own_suite(tmp_path):
    """'--seeds 99' on NAV (frozen seeds 0-9) ran unchecked under NAV's name: now one line naming the
    suite's seeds and how to run others; a copy of the suite with 'seeds: [99]' runs and freezes."""
    out = tmp_path / "r"
    r = bench(
        "run",
        "--suite",
        "NAV",
        "--tiers",
        "1",
        "--seeds",
        "8-9",
        "99",
        "--agent",
        "oracle",
        "--out",
        str(out),
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert (
        "--seeds 99: not episodes of NAV v1 tier 1 (its seeds are 0-9, frozen in its lock file)" in r.stderr
    )
    assert "give its path to --suite" in r.stderr and not out.exists()
    mine = tmp_path / "mynav.yaml"
    text = (REPO / "tasks" / "nav.yaml").read_text()
    mine.write_text(text.replace("suite: NAV", "suite: MYNAV").replace("seeds: 10", "seeds: [99]"))
    assert get_suite(str(mine)).tier("1").seeds == [99]
    r = bench("freeze", str(mine))
    assert r.returncode == 0 and (tmp_path / "mynav.lock.json").exists(), r.stderr
    r = bench(
        "run",
        "--suite",
        str(mine),
        "--tiers",
        "1",
        "--agent",
        "oracle",
        "--out",
        str(out),
        "--frames",
        "none",
    )
    assert r.returncode == 0, r.stderr
    (line,) = (json.loads(x) for x in (out / "results.jsonl").read_text().splitlines())
    assert line["suite"] == "MYNAV" and line["seed"] == 99 and line["success"]


def test_report_keeps_every_replay_frame_in_a_fraction_of_the_gif_bytes(tmp_path):
    """A 7+7 episode report was 19.6 MB: replays were 2x-enlarged GIFs (4x the pixels) with five
    copies of the last frame, embedded as base64. Now the replay is the frame's own size (shown
    at 2x by the page) and the report embeds it as animated WebP, every frame kept."""
    import base64
    import io
    import re

    from PIL import Image

    from embodied.bench.report import build

    out = tmp_path / "run"
    run(RunSpec([get_suite("ESC")], "random", out, tiers=["1"], episodes=1, size=224))
    (r,) = RunDir(out).results()
    gif = out / r["replay"]
    with Image.open(gif) as im:
        assert im.size[0] == 224 and im.n_frames == r["steps"] + 1, (im.size, im.n_frames)
    calls = []
    text = build([str(out)], progress=lambda *a: calls.append(a))
    assert calls == [(0, 1, "ESC/1/0")]  # 'embodied bench report' shows a progress bar while it encodes
    (m,) = re.finditer(
        r"<img class='replay' width='(\d+)' alt='[^']+' src='data:image/webp;base64,([^']+)'", text
    )
    with Image.open(io.BytesIO(base64.b64decode(m.group(2)))) as webp:
        assert webp.n_frames == r["steps"] + 1 and webp.size[0] == 224 and m.group(1) == "448"
    # the WebP is under half the GIF's bytes (0.47; the GIF shrinks more than the WebP when frames
    # have flatter surfaces: 0.38 while the dark doors still had a faint wood texture), and the
    # whole page, base64 and all, stays under the GIF alone
    webp_bytes, gif_bytes = len(base64.b64decode(m.group(2))), gif.stat().st_size
    assert webp_bytes < 0.6 * gif_bytes and len(text) < 0.85 * gif_bytes, (webp_bytes, len(text), gif_bytes)


@pytest.mark.slow
def test_ctrl_c_stops_a_worker_pool_run_at_once_and_says_how_to_resume(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) used to let the pool run every queued
    episode (and discard it) before exiting; now the run stops at once, keeps what finished, and
    one line says how many episodes are saved and that the same command resumes."""
    out = tmp_path / "run"
    args = ["run", "--suite", "ESC", "--tiers", "1", "--episodes", "10", "--agent", "random", "--size", "48"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "embodied.cli", "bench", *args, "--workers", "2", "--out", str(out)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    results = out / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (results.exists() and results.read_text().count("\n") >= 1):
        time.sleep(0.05)
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        err = proc.communicate(timeout=10)[1]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and time.monotonic() - t0 < 5, (proc.returncode, err)
    saved = len(RunDir(out).results())
    assert 1 <= saved < 10
    assert (
        f"interrupted; {saved}/10 episodes are saved in {out}: the same command resumes the run"
        in " ".join(err.split())
    ), err
    assert "Traceback" not in err
    deadline = time.monotonic() + 15  # the workers' engines see their parent go (watchdog; slow under load)
    while left := subprocess.run(
        ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True
    ).stdout.split():
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == [], left


def test_every_frozen_episode_leaves_the_oracle_a_real_margin():
    """ESC-MM v1 kept MM-Escape's caps as budgets: level 3 layout 11 left the oracle 1 step of
    100. Every frozen episode of every suite now gives at least twice the oracle's steps and 20
    more; ESC-MM v2's budgets are the importer's (10x, at most 1,000, at least the oracle + their cap)."""
    from embodied.procedural.escapecraft import STEP_CAPS

    for s in load_suites().values():
        if s.lock_status() != "frozen":
            continue
        for e in s.episodes():
            f = s.frozen(e.tier, e.seed)
            assert f["budget"] >= 2 * f["optimal"] and f["budget"] - f["optimal"] >= 20, (e.key, f)
    mm = get_suite("ESC-MM")
    assert mm.version == 2 and mm.lock_status() == "frozen"
    tight = mm.frozen("3", 11)
    assert tight["optimal"] == 99 and tight["budget"] == 990  # was 100
    for e in mm.episodes():
        f = mm.frozen(e.tier, e.seed)
        assert f["budget"] == max(min(10 * f["optimal"], 1000), f["optimal"] + STEP_CAPS[float(e.tier)]), (
            e.key
        )
    assert (
        mm.spec("1", 0).max_steps == mm.frozen("1", 0)["budget"]
    )  # the scene's own cap (budget: {scene: true})


def test_results_of_an_older_suite_version_stay_loadable_and_are_not_paired_with_new_ones(tmp_path, capsys):
    """A run of ESC-MM v1 (before the budgets changed) still loads in compare and report, shows
    its version, is never paired with a v2 run's episodes, and is not resumed under v2."""
    new, old = tmp_path / "v2", tmp_path / "v1"
    run(RunSpec([get_suite("ESC-MM")], "oracle", new, tiers=["1"], seeds=[0], size=32, frames="none"))
    old.mkdir()  # the same run as v1 wrote it: its version in config.json and in each result line
    cfg = json.loads((new / "config.json").read_text())
    cfg["suites"]["ESC-MM"] = {"version": 1, "definition": "c7e6b4b1fa8b4ab6"}
    (old / "config.json").write_text(json.dumps(cfg))
    (res,) = RunDir(new).results()
    (old / "results.jsonl").write_text(json.dumps({**res, "version": 1, "budget": 50}) + "\n")
    assert cli(["bench", "compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "ESC-MM v1" in out and "ESC-MM v2" in out and "paired difference" not in out
    assert cli(["bench", "compare", str(new), str(new)]) == 0  # same version: paired
    assert "paired difference" in capsys.readouterr().out
    assert cli(["bench", "report", str(old), str(new), "--out", str(tmp_path / "r.html")]) == 0
    argv = ["bench", "run", "--suite", "ESC-MM", "--tiers", "1", "--seeds", "0", "--agent", "oracle"]
    assert cli([*argv, "--out", str(old), "--size", "32", "--frames", "none"]) == 2
    assert "holds a run with other --suite (ESC-MM v1; now ESC-MM v2)" in capsys.readouterr().err
