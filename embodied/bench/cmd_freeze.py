"""``embodied bench freeze SUITE``: write the suite's lock file (generated suites: make their scenes)."""

from __future__ import annotations

import argparse
import shlex
import sys

from ..cli import int_in, positive_float

# the generator's options and their defaults (add_arguments gives them; main tells a given one by them)
_GEN_FLAGS = {
    "--base-url": None,
    "--model": None,
    "--api-key-env": "OPENAI_API_KEY",
    "--cache-dir": None,
    "--prices": None,
    "--retries": 5,
    "--request-timeout": 60.0,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("suites", nargs="+", help="suite names (see 'embodied bench list') or suite .yaml paths")
    g = p.add_argument_group("generated suites (GEN): the LLM generator's endpoint")
    g.add_argument(
        "--base-url", default=_GEN_FLAGS["--base-url"], help="OpenAI-compatible endpoint (default: OpenAI's)"
    )
    g.add_argument("--model", default=_GEN_FLAGS["--model"], help="model name, e.g. gpt-4o")
    g.add_argument(
        "--api-key-env", default=_GEN_FLAGS["--api-key-env"], help="environment variable holding the API key"
    )
    g.add_argument(
        "--cache-dir",
        default=_GEN_FLAGS["--cache-dir"],
        help="on-disk response cache (a re-freeze replays it)",
    )
    g.add_argument(
        "--prices", default=_GEN_FLAGS["--prices"], help="price table (YAML or JSON) for the cost figures"
    )
    g.add_argument(
        "--retries",
        type=int_in(0),
        default=_GEN_FLAGS["--retries"],
        help="retries per request (refused, 5xx, timeouts) (default %(default)s)",
    )
    g.add_argument(
        "--request-timeout",
        type=positive_float("timeout", "seconds"),
        default=_GEN_FLAGS["--request-timeout"],
        help="seconds per request (default %(default)g)",
    )


def main(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from .sources import FreezeStopped
    from .suites import SuiteError, get_suite

    worst, done = 0, []
    suites = [get_suite(name) for name in args.suites]
    generated = [s for s in suites if s.source and s.source.endswith(":generated")]
    given = [f for f in _GEN_FLAGS if getattr(args, f.lstrip("-").replace("-", "_")) != _GEN_FLAGS[f]]
    if given and not generated:  # (was: ignored without a word)
        names = ", ".join(s.name for s in suites)
        raise SuiteError(
            f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for generated suites (such as "
            f"GEN, made by an LLM); {names} {'is' if len(suites) == 1 else 'are'} not generated: drop "
            f"{'it' if len(given) == 1 else 'them'} (suites: 'embodied bench list')"
        )
    for s in suites:
        make, report = None, {}
        if s.source and s.source.endswith(":generated"):
            if not args.model:
                raise SuiteError(
                    f"suite {s.name} is generated: give --model (and --base-url) for the LLM generator"
                )
            from ..agents.openai_client import ChatClient
            from .sources import llm_maker

            client = ChatClient(
                args.model,
                base_url=args.base_url,
                api_key_env=args.api_key_env,
                cache_dir=args.cache_dir,
                prices=args.prices,
                retries=args.retries,
                timeout=args.request_timeout,
            )
            make = llm_maker(s, client, report=report)
        else:
            ok, why = s.availability()
            if not ok:
                raise SuiteError(f"suite {s.name} is unavailable: {why}")
        n = len(s.episodes())
        try:
            with Progress(transient=True, disable=not sys.stdout.isatty()) as bar:  # no stray blank line
                task = bar.add_task(f"{s.name} v{s.version}", total=n)
                data = s.freeze(progress=lambda ep, t=task: bar.advance(t), make_spec=make)
        except FreezeStopped as e:  # the endpoint went down: one line, what was frozen is kept
            k = len(s.lock().get("episodes", {})) if s.lock().get("version") == s.version else 0
            raise FreezeStopped(
                f"{e}; {k}/{n} episodes are frozen in {s.lock_path} and kept: run the same command "
                "again when the endpoint is back, it generates only the rest"
            ) from None
        except KeyboardInterrupt:  # Ctrl-C: say what is kept and the command that goes on
            print(
                f"embodied bench freeze: interrupted; {interrupted(s, make, n, done, args)}", file=sys.stderr
            )
            return 130
        done.append(s.name)
        failed = {k: v for k, v in report.items() if not v["ok"]}
        print(f"{s.name} v{s.version}: {len(data['episodes'])}/{n} episodes frozen into {s.lock_path}")
        for k, v in failed.items():
            print(f"  {k}: not generated: {'; '.join(v['reasons'])[:300]}")
        if report:
            cost = sum(v["cost_usd"] or 0 for v in report.values())
            reqs = sum(v["requests"] for v in report.values())
            hits = sum(v["cache_hits"] for v in report.values())
            print(f"  LLM: {reqs} answers ({hits} from the cache), ${cost:.4f}")
        worst = max(worst, 1 if len(data["episodes"]) < n else 0)
    return worst


def interrupted(s, make, n: int, done: list[str], args: argparse.Namespace) -> str:
    """What an interrupted freeze of suite ``s`` kept, and the command that goes on from there.

    A generated suite's scenes made so far are in its lock file and are not asked for again; a
    plain suite's lock file is written only at the end, so it is as it was, and is computed anew."""
    argv = getattr(args, "argv", None) or ["bench", "freeze", *args.suites]
    again = "embodied " + shlex.join(argv)
    before = f" ({', '.join(done)} finished before it)" if done else ""
    if make is not None:
        lock = s.lock() if s.lock().get("version") == s.version else {}
        k = sum("spec" in e for e in lock.get("episodes", {}).values())
        return (
            f"{k}/{n} scenes of {s.name} are generated and kept in {s.lock_path}{before}; "
            f"'{again}' generates only the rest"
        )
    return f"{s.name} was not frozen, {s.lock_path} is as it was{before}; '{again}' freezes it again"
