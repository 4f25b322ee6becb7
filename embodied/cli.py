"""The ``embodied`` command: demo, validate, scenes, engine serve."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["engine", "serve"]:
        from .bridges.panda3d.server import main as serve

        return serve(argv[2:])
    p = argparse.ArgumentParser(prog="embodied", description="Embodied-AI research platform")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser(
        "demo", help="run an agent on a shipped escape room and save frames, a GIF and metrics"
    )
    d.add_argument("--scene", default="chest_split_code", help="shipped scene name or spec path")
    d.add_argument("--agent", default="oracle", help="oracle | random")
    d.add_argument("--out", default="demo_out", help="output directory (default: ./demo_out)")
    d.add_argument("--size", type=int, default=224, help="frame width and height in pixels")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--renderer", default="software", choices=["software", "gl", "auto"])
    v = sub.add_parser(
        "validate", help="validate scene specs: schema, geometry, solvable, shortcuts (exit 1 if any fails)"
    )
    v.add_argument("specs", nargs="+")
    v.add_argument("--json", action="store_true", help="print a JSON report")
    sub.add_parser("scenes", help="list the shipped scenes")
    sub.add_parser(
        "doctor", help="check that this machine renders real frames headless (black/stale frame detection)"
    )
    e = sub.add_parser("engine", help="engine commands: 'embodied engine serve --help'")
    e.add_argument("action", choices=["serve"])
    args = p.parse_args(argv)
    if args.cmd == "doctor":
        from .doctor import main as doctor

        return doctor()
    return {"demo": _demo, "validate": _validate, "scenes": _scenes}[args.cmd](args)


def _demo(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .agents import make_agent
    from .env import Env
    from .record import run_episode

    console = Console()
    out = Path(args.out)
    console.print(
        f"[bold]embodied demo[/]: {args.agent} agent in scene [cyan]{args.scene}[/] "
        f"(embedded Panda3D engine, {args.renderer} renderer, {args.size}x{args.size})"
    )
    with Env(args.scene, width=args.size, height=args.size, seed=args.seed, renderer=args.renderer) as env:
        kw = {"seed": args.seed} if args.agent == "random" else {}
        agent = {aid: make_agent(args.agent, **kw) for aid in env.world.agent_ids}  # every teammate plays
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("episode", total=env.max_steps)
            m = run_episode(
                env,
                agent,
                out,
                agent_name=args.agent,
                on_step=lambda i, rec: bar.update(task, completed=i, description=rec["action"][:32]),
            )
    verdict = "[green]ESCAPED[/]" if m.success else "[red]did not finish[/]"
    console.print(
        f"{verdict}: {m.steps} steps ({m.optimal_actions} plan actions), progress {m.progress:.0%}, "
        f"{m.failed_actions} failed actions, {m.seconds:.1f} s ({m.steps_per_second:.0f} steps/s incl. saving)"
    )
    console.print(
        f"frames:  {m.frames_dir}/\nGIF:     {m.gif}\nmetrics: {out / 'metrics.json'}\nsteps:   {out / 'steps.jsonl'}"
    )
    return 0 if m.success or args.agent != "oracle" else 1


def _validate(args) -> int:
    from .validate import validate

    worst = 0
    reports = []
    for s in args.specs:
        r = validate(s)
        worst = max(worst, 0 if r.ok else 1)
        if args.json:
            reports.append(
                {
                    "spec": s,
                    "ok": r.ok,
                    "problems": [dict(zip(("kind", "path", "message"), p)) for p in r.problems],
                    "plan": [str(x) for x in (r.verdict.plan if r.verdict else [])],
                }
            )
        else:
            print(f"{s}:")
            for line in r.lines():
                print(f"  {line}")
    if args.json:
        print(json.dumps(reports, indent=2))
    return worst


def _scenes(args) -> int:
    from .spec import load_spec, shipped_scenes

    for n in shipped_scenes():
        print(f"{n:20s} {load_spec(n).description or ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
