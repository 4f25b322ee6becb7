"""generate scenes (rules or an LLM), replay each with the oracle in the engine, save them

    embodied gen --generator rules --n 20 --seed 0 --out gen/ --depth 3 --rooms 2
    embodied gen --generator llm --prompt "a Victorian study with a hidden safe" --out gen/ --model gpt-4o-mini

Every scene is validated and then replayed by the oracle in the embedded engine; only scenes
that pass are written (``NAME.json``, ``NAME.map.png``, ``NAME.thumb.png``), and ``index.jsonl``
gets one line per attempt (accepted or rejected, with the reason). Exit status: 0 if every
scene was accepted, 1 if some were rejected, 2 for a usage mistake.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cli import int_in, positive_float
from ..commands.demo import frame_size
from ..errors import ConfigError


def nonnegative(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
        return v

    return parse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generator", choices=["rules", "llm"], default="rules", help="rule-based (offline) or an LLM"
    )
    p.add_argument(
        "--out", required=True, help="output directory for NAME.json, NAME.map.png, NAME.thumb.png"
    )
    p.add_argument("--n", type=int, default=1, help="how many scenes (rules: seeds S, S+1, ...)")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument(
        "--no-replay", action="store_true", help="skip the engine replay (scenes are then unchecked)"
    )
    p.add_argument("--size", type=frame_size, default=160, help="thumbnail size in pixels")
    g = p.add_argument_group("rules knobs (ranges in docs/generation.md)")
    g.add_argument("--rooms", type=int, help="rooms on the way to the exit (1-4, default 2)")
    g.add_argument("--depth", type=int, help="locks per chain, the exit's included (1-6, default 3)")
    g.add_argument("--branching", type=int, help="independent sub-chains behind the exit code (1-3)")
    g.add_argument("--decoys", type=int, help="locked things, notes and objects that lead nowhere (0-4)")
    g.add_argument("--indirection", type=int, help="0 written, 1 split, 2 arithmetic, 3 mapping, 4 book")
    g.add_argument("--agents", type=int, help="1 alone; 2-3 split knowledge: teammates must talk")
    g.add_argument("--theme", help="manor | lab | ship")
    m = p.add_argument_group("llm options")
    m.add_argument("--prompt", help='what to build, e.g. "a Victorian study with a hidden safe"')
    m.add_argument("--from-image", help="a floor plan, sketch or photo (PNG/JPEG) sent with the prompt")
    m.add_argument("--model", default="gpt-4o-mini", help="model name at the endpoint")
    m.add_argument("--base-url", help="OpenAI-compatible endpoint (default: the SDK's, or OPENAI_BASE_URL)")
    m.add_argument("--tries", type=nonnegative(int), default=4, help="repair rounds after the first answer")
    m.add_argument("--temperature", type=float, default=0.7, help="sampling temperature")
    m.add_argument("--max-cost", type=nonnegative(float), help="stop before spending more than this many USD")
    m.add_argument("--cache", default=".embodied-cache/llm", help="on-disk answer cache directory")
    m.add_argument(
        "--prices", help="YAML/JSON file: {model: [USD per 1M input tokens, per 1M output tokens]}"
    )
    m.add_argument(
        "--retries",
        type=int_in(0),
        default=5,
        help="retries per request (refused, 5xx, timeouts) (default: %(default)s)",
    )
    m.add_argument(
        "--request-timeout",
        type=positive_float("timeout", "seconds"),
        default=60.0,
        help="seconds per request (default: %(default)s)",
    )


def main(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.n < 1:
        raise ConfigError(f"--n must be at least 1, got {args.n}")
    if args.generator == "llm":
        try:
            import openai  # noqa: F401
        except ImportError:
            raise ConfigError(
                "--generator llm needs the openai package: pip install -e '.[openai]' in the embodied "
                "checkout (or pip install 'openai>=1.40'); --generator rules needs nothing"
            ) from None
    if args.generator == "rules":
        return _rules(args, out)
    from .llm_cli import run_llm
    from .outpath import out_dir

    out_dir(out)  # before any work: an unwritable path is said at once
    return run_llm(args, out)


def _rules(args: argparse.Namespace, out: Path) -> int:
    from rich.progress import Progress

    from . import GenerationError, generate
    from .outpath import out_dir
    from .rules import DEFAULTS, check_knobs

    knobs = check_knobs({k: getattr(args, k) for k in DEFAULTS})  # a bad knob is a usage error (exit 2)
    out_dir(out)  # before any work: an unwritable path is said at once
    engine = None
    if not args.no_replay:
        from ..engine import launch

        engine = launch()
    rejected = 0
    try:
        with (
            Progress(transient=True, disable=not sys.stdout.isatty()) as bar,
            (out / "index.jsonl").open("a") as index,
        ):
            task = bar.add_task("generating", total=args.n)
            for seed in range(args.seed, args.seed + args.n):
                row = {"seed": seed, "knobs": knobs}
                try:
                    spec = generate(seed, **knobs)
                except GenerationError as e:
                    row.update(accepted=False, reason=str(e))
                else:
                    row.update(accepted=True, name=spec.name, difficulty=spec.metadata["difficulty"])
                    if engine is not None:
                        from .accept import accept

                        acc = accept(spec, engine, out, size=args.size)
                        row.update(accepted=acc.ok, reason=acc.reason, oracle_steps=acc.steps)
                    else:
                        from .accept import draw_map, write_spec

                        write_spec(spec, out / f"{spec.name}.json")
                        draw_map(spec).save(out / f"{spec.name}.map.png")
                        row["reason"] = "not replayed in the engine (--no-replay)"
                rejected += not row["accepted"]
                index.write(json.dumps(row) + "\n")
                verdict = "ok" if row["accepted"] else f"REJECTED: {row['reason']}"
                bar.console.print(f"seed {seed}: {row.get('name', '?')} {verdict}")
                bar.advance(task)
    finally:
        if engine is not None:
            engine.close()
    print(f"{args.n - rejected}/{args.n} scenes accepted into {out}/ (index: {out / 'index.jsonl'})")
    return 1 if rejected else 0
