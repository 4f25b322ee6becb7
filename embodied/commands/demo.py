"""run an agent on a shipped escape room and save frames, a GIF and metrics

Writes OUT/frames/*.png, OUT/episode.gif, OUT/steps.jsonl and OUT/metrics.json. Exit 0 when the
episode ran (and, for the oracle, when it succeeded), 2 for a bad option or scene.
"""

from __future__ import annotations

import argparse

from ..cli import add_renderer_option


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def frame_size(text: str) -> int:
    n = positive_int(text)
    if not 16 <= n <= 4096:
        raise argparse.ArgumentTypeError(f"frame size must be 16..4096 pixels, got {n}")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scene",
        default="chest_split_code",
        help="shipped scene name ('embodied scenes' lists them), registered task, or spec file (default: %(default)s)",
    )
    parser.add_argument(
        "--agent",
        default="oracle",
        help="agent name: oracle (the solver's plan) or random (default: %(default)s)",
    )
    parser.add_argument("--out", default="demo_out", help="output directory (default: ./%(default)s)")
    parser.add_argument(
        "--size", type=frame_size, default=224, help="frame width and height in pixels (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="episode seed, recorded in metrics.json (default: %(default)s)"
    )
    parser.add_argument(
        "--max-steps",
        type=positive_int,
        default=None,
        help="step budget (default: the scene's, or 30x its plan)",
    )
    add_renderer_option(parser)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..agents import make_agent
    from ..record import run_episode
    from ..tasks import make_task
    from .episode_out import banner, open_env, out_dir, outputs, verdict

    make_agent(args.agent)  # an unknown name fails here, before an engine starts
    if args.agent == "human":
        from ..agents.human import require_input

        require_input()
    task = make_task(args.scene)  # so does an unknown scene
    console = Console()
    out = out_dir(args.out)  # a bad --out fails here, before an engine starts
    with open_env(task, args) as env:
        banner(
            console, "demo", f"{args.agent} agent", env, f"embedded Panda3D engine, {args.renderer} renderer"
        )
        kw = {"seed": args.seed} if args.agent == "random" else {}
        agent = {aid: make_agent(args.agent, **kw) for aid in env.world.agent_ids}  # every teammate plays
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,  # off a terminal a transient bar leaves only a blank line
        ) as bar:
            progress = bar.add_task("episode", total=env.max_steps)
            m = run_episode(
                env,
                agent,
                out,
                agent_name=args.agent,
                agent_options=kw,
                on_step=lambda i, rec: bar.update(progress, completed=i, description=rec["action"][:32]),
            )
    console.print(
        f"{verdict(m)}: {m.steps} steps ({m.optimal_actions} plan actions), progress {m.progress:.0%}, "
        f"{m.failed_actions} failed actions, {m.seconds:.1f} s ({m.steps_per_second:.0f} steps/s incl. saving)"
    )
    outputs(console, m, out)
    return 0 if m.success or args.agent != "oracle" else 1
