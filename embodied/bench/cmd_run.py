"""``embodied bench run``: run an agent on suites into a resumable run directory."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..cli import positive_float
from ..commands.demo import frame_size, positive_int
from .suites import SuiteError

# VLM agent knobs passed through to the agent's constructor (recorded in config.json)
AGENT_FLAGS = [
    ("--base-url", "base_url", str, "OpenAI-compatible endpoint (default: OpenAI's)"),
    (
        "--api-key-env",
        "api_key_env",
        str,
        "environment variable holding the API key (default OPENAI_API_KEY)",
    ),
    ("--temperature", "temperature", float, "sampling temperature"),
    ("--top-p", "top_p", float, "nucleus sampling top_p"),
    ("--max-tokens", "max_tokens", positive_int, "answer length cap in tokens"),
    ("--agent-seed", "seed", int, "sampling seed sent to the model"),
    ("--image-size", "image_size", int, "resize frames to this many pixels before sending"),
    ("--jpeg-quality", "jpeg_quality", int, "1..95"),
    ("--detail", "detail", str, "image detail: low | high | auto"),
    ("--request-timeout", "timeout", positive_float("timeout", "seconds"), "seconds per model request"),
    ("--retries", "retries", int, "retries per request (rate limits, timeouts, 5xx)"),
    ("--history", "history", str, "none | last | keyframes | full"),
    ("--history-k", "history_k", int, "turns kept with --history last"),
    ("--action-interface", "interface", str, "ids | free-text | both"),
    ("--cache-dir", "cache_dir", str, "on-disk response cache"),
    ("--prices", "prices", str, "price table (YAML) for the cost figures"),
    ("--prompt", "prompt", str, "prompt template version or YAML path"),
]
AGENT_SWITCHES = [
    ("--text-only", "text_only", "no image: a text description of the view instead"),
    ("--hints", "hints", "the next checkpoint in words"),
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--suite", required=True, help="suite name(s), comma-separated: NAV,ESC (see 'embodied bench list')"
    )
    p.add_argument(
        "--agent", required=True, help="oracle | random | human | openai:MODEL | package.module:Class"
    )
    p.add_argument("--out", required=True, help="run directory (created; the same command resumes it)")
    p.add_argument(
        "--workers", type=int, default=1, help="parallel workers, each with its own engine (default 1)"
    )
    p.add_argument("--episodes", type=positive_int, default=None, help="first K seeds of every tier")
    p.add_argument("--tiers", default=None, help="comma-separated tiers, e.g. 1,2")
    p.add_argument("--seeds", nargs="+", default=None, help="exact seeds, e.g. 0 1 2 or 0-4")
    p.add_argument(
        "--ray", default=None, metavar="ADDRESS", help="run on Ray: an address, or 'local' to start one"
    )
    p.add_argument("--size", type=frame_size, default=224, help="frame width and height (default 224)")
    p.add_argument(
        "--frames",
        default="gif",
        choices=["none", "gif", "all"],
        help="gif: captioned replay; all: also every frame as PNG (needed by export)",
    )
    p.add_argument(
        "--agent-opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other agent option (JSON values allowed)",
    )
    g = p.add_argument_group("VLM agent options (passed to the agent)")
    for flag, dest, typ, text in AGENT_FLAGS:
        metavar = flag[2:].upper().replace("-", "_")  # --base-url BASE_URL, not AGENT_BASE_URL
        g.add_argument(flag, dest=f"agent_{dest}", type=typ, default=None, metavar=metavar, help=text)
    for flag, dest, text in AGENT_SWITCHES:
        g.add_argument(flag, dest=f"agent_{dest}", action="store_true", default=None, help=text)


def parse_seeds(items: list[str] | None) -> list[int] | None:
    if items is None:
        return None
    out = []
    for it in ",".join(items).split(","):
        it = it.strip()
        if not it:
            continue
        try:
            a, _, b = it.partition("-") if "-" in it[1:] else (it, "", it)
            lo, hi = int(a), int(b)
        except ValueError:
            raise SuiteError(
                f"--seeds: {it!r} is not a seed; use numbers like 0 1 2 or a range 0-9"
            ) from None
        if hi < lo:
            raise SuiteError(f"--seeds {it}: an empty range; write it low to high: {hi}-{lo}")
        out += list(range(lo, hi + 1))
    return out


def agent_options(args: argparse.Namespace) -> dict:
    """The agent's options from the VLM flags and ``--agent-opt KEY=VALUE`` (JSON values, else the
    text), each typed as the agent's constructor says ('--agent-opt seed=abc' is refused)."""
    from ..agents import option_value
    from ..errors import ConfigError
    from .agents import agent_factory

    opts = {}
    for _, dest, *_ in AGENT_FLAGS + AGENT_SWITCHES:
        v = getattr(args, f"agent_{dest}", None)
        if v is not None:
            opts[dest] = v
    factory = agent_factory(args.agent) if args.agent_opt else None
    for kv in args.agent_opt:
        if "=" not in kv:
            raise SuiteError(f"--agent-opt {kv!r}: expected KEY=VALUE, e.g. --agent-opt temperature=0.2")
        k, v = kv.split("=", 1)
        k = k.replace("-", "_")
        try:
            opts[k] = option_value(factory, k, v, json_or_text)
        except ConfigError as e:
            raise SuiteError(f"--agent-opt {kv}: {e}") from None
    return opts


def json_or_text(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..agents.human import require_input
    from .agents import agent_call, build_agent, options_not_taken, resolve
    from .metrics import fmt
    from .runner import RunSpec
    from .suites import get_suite

    if args.workers < 1:
        raise SuiteError(f"--workers {args.workers}: use 1 or more")
    if not args.suite.replace(",", "").strip():
        raise SuiteError(f"--suite {args.suite!r}: name a suite, e.g. --suite NAV ('embodied bench list')")
    if args.tiers is not None and not args.tiers.replace(",", "").strip():  # '' ran every tier
        raise SuiteError(f"--tiers {args.tiers!r}: name tiers, e.g. --tiers 1,2, or leave it out for all")
    named = [get_suite(n.strip()) for n in args.suite.split(",") if n.strip()]
    suites = list({s.name: s for s in named}.values())  # NAV,nav runs NAV once
    for s in suites:
        ok, why = s.availability()
        if not ok:
            raise SuiteError(f"suite {s.name} is unavailable: {why}")
    resolve(args.agent)
    options = agent_options(args)
    unused = options_not_taken(args.agent, options)
    if unused:  # each episode would fail on it (an oracle has no --base-url)
        flags = {dest: flag for flag, dest, *_ in AGENT_FLAGS + AGENT_SWITCHES}
        named = ", ".join(flags.get(k, f"--agent-opt {k}") for k in unused)
        raise SuiteError(
            f"{named}: --agent {args.agent} takes no such option (the VLM options are for openai:MODEL "
            "agents); drop it or use --agent openai:MODEL"
        )
    agent_call(args.agent, options, seed=0, agent_id="a0")  # a factory that cannot be called: one line
    if args.agent.split(":", 1)[0] == "openai" and not args.ray:  # (Ray workers may hold their own key)
        build_agent(args.agent, options, seed=0, agent_id="a0")  # no key, a bad option: one line, no run dir
    if args.ray:
        from .runner import check_ray_address

        check_ray_address(args.ray)
    human = args.agent == "human"
    if human and (args.workers > 1 or args.ray):
        raise SuiteError("--agent human plays in this terminal: use --workers 1 and no --ray")
    if human:
        require_input()  # every episode would be an instant 'Done', recorded as failed
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()] if args.tiers else None
    if tiers:
        known = {t.tier for s in suites for t in s.tiers}
        bad = [t for t in tiers if t not in known]
        if bad:
            raise SuiteError(
                f"--tiers: no tier {', '.join(bad)} in {args.suite}; tiers: {', '.join(sorted(known))}"
            )
    spec = RunSpec(
        suites=suites,
        agent=args.agent,
        out=Path(args.out),
        agent_options=options,
        tiers=tiers,
        episodes=args.episodes,
        seeds=parse_seeds(args.seeds),
        workers=args.workers,
        ray=args.ray,
        size=args.size,
        frames=args.frames,
    )
    if not spec.episode_list():
        raise SuiteError("no episodes selected; check --tiers, --episodes and --seeds")
    from .. import __version__
    from ..commands.episode_out import out_dir
    from .rundir import RunDir

    RunDir(spec.out).check(spec.config(__version__))
    out_dir(args.out)  # one that cannot be made (/proc/x): 'cannot use ...' before any engine
    try:
        metrics = _run(spec, args, human)
    except KeyboardInterrupt:  # (Ctrl-C) what is finished is saved: say so, and how to go on
        keys = {e.key for _, e in spec.episode_list()}
        done = len(RunDir(spec.out).done_keys() & keys) if RunDir(spec.out).exists() else 0
        Console(stderr=True).print(
            f"embodied bench run: interrupted; {done}/{len(keys)} episodes are saved in {spec.out}: "
            "the same command resumes the run",
            highlight=False,
        )
        return 130
    out = Console()
    for name, s in metrics["suites"].items():
        for t, m in s["tiers"].items():
            out.print(
                f"{name} tier {t}: success {fmt(m['success'], pct=True, unit=' %')}  "
                f"SPL {fmt(m['spl'])}  steps {fmt(m['steps'], digits=1)}  "
                f"(n={m['episodes']})"
            )
    out.print(f"run directory: {spec.out}  (metrics.json, results.jsonl, episodes/)")
    return 0


def _run(spec, args: argparse.Namespace, human: bool) -> dict:
    """Run ``spec`` with a progress bar (or a line per episode for a human player); its metrics."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from .runner import run

    console = Console(stderr=True)
    stats = {"ok": 0, "n": 0, "cost": 0.0}
    if human:

        def on_result(r, done, total):
            console.print(
                f"[{done}/{total}] {r['key']}: {'success' if r['success'] else 'failed'} in {r['steps']} steps"
            )

        metrics = run(spec, on_result=on_result)
    else:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("success {task.fields[ok]}  cost ${task.fields[cost]:.4f}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            total = len(spec.episode_list())
            task = bar.add_task(f"{args.agent} on {args.suite}", total=total, ok="-", cost=0.0)

            def on_result(r, done, total):
                stats["n"] += 1
                stats["ok"] += bool(r["success"])
                stats["cost"] += r.get("cost") or 0.0
                bar.update(
                    task,
                    completed=done,
                    ok=f"{stats['ok']}/{stats['n']}",
                    cost=stats["cost"],
                    description=f"{args.agent}: {r['key']}",
                )

            from .rundir import RunDir

            bar.update(
                task, completed=len(RunDir(spec.out).done_keys() & {e.key for _, e in spec.episode_list()})
            )
            metrics = run(spec, on_result=on_result)
    return metrics
