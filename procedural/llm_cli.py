"""``embodied gen --generator llm``: one scene per run from a prompt and/or an image, repaired until valid."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path


def run_llm(args: argparse.Namespace, out: Path) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from ..agents.openai_client import ChatClient
    from .accept import accept, draw_map, write_spec
    from .llm import STAGES, generate_llm

    console = Console(stderr=True)
    client = (
        ChatClient(  # a bad --prices file is one line from the client (it was a JSONDecodeError traceback)
            args.model,
            base_url=args.base_url,
            cache_dir=args.cache,
            prices=args.prices,
            retries=args.retries,
            timeout=args.request_timeout,
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    engine = None
    if not args.no_replay:
        from ..engine import launch

        engine = launch()
    replayed: dict[str, object] = {}

    def check(spec) -> list[str]:  # the engine replay is part of the repair loop
        if engine is None:
            return []
        spec.name = _safe(spec.name)
        acc = accept(spec, engine, out, size=args.size)  # writes spec, map and thumbnail only if it passes
        replayed["steps"] = acc.steps
        return [] if acc.ok else [f"engine: {acc.reason}"]

    total = len(STAGES) - 1 + args.tries + 1
    failures = 0
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[cost]}"),
            console=console,
            transient=True,
            disable=not console.is_terminal,  # off a terminal a transient bar leaves only a blank line
        ) as bar:
            for k in range(args.n):
                task = bar.add_task(f"scene {k + 1}/{args.n}", total=total, cost="")

                def event(kind: str, info: dict, task=task, k=k) -> None:
                    if kind == "answer":
                        cost = info.get("cost")
                        bar.update(
                            task,
                            advance=1,
                            description=f"scene {k + 1}/{args.n}: {info['stage']}",
                            cost="" if cost is None else f"${cost:.4f}",
                        )
                    elif kind == "checked" and info["problems"]:
                        bar.console.print(
                            f"  round {info['round']}: {len(info['problems'])} problem(s): {info['problems'][0][:100]}"
                        )

                res = generate_llm(
                    client,
                    args.prompt,
                    image=args.from_image,
                    tries=args.tries,
                    temperature=args.temperature,
                    max_cost=args.max_cost,
                    check=check,
                    on_event=event,
                )
                usage = (
                    f"{res.requests} requests ({res.cache_hits} from cache), {res.prompt_tokens}+{res.completion_tokens} tokens, "
                    + (
                        "cost unknown (model not in the price table)"
                        if res.cost_usd is None
                        else f"${res.cost_usd:.4f}"
                    )
                )
                if not res.ok:
                    failures += 1
                    console.print(f"[red]gave up[/]: {usage}")
                    for r in res.reasons:
                        console.print(f"  {r}")
                    (out / f"rejected-{k}.log.json").write_text(
                        json.dumps({"reasons": res.reasons, "history": res.history}, indent=1)
                    )
                    continue
                spec = res.spec
                spec.name = _safe(spec.name) or f"llm_{k}"
                spec.metadata.update(
                    model=args.model,
                    prompt=args.prompt,
                    image=bool(args.from_image),
                    rounds=res.rounds,
                    cost_usd=res.cost_usd,
                )
                write_spec(spec, out / f"{spec.name}.json")  # (again, now with the run's metadata)
                draw_map(spec).save(out / f"{spec.name}.map.png")
                console.print(
                    f"[green]valid[/] {out / (spec.name + '.json')} after {res.rounds} round(s): {usage}"
                )
    finally:
        if engine is not None:
            engine.close()
    return 1 if failures else 0


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
