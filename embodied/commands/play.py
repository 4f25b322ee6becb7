"""play one episode with an agent (e.g. a VLM: --agent openai:gpt-4o), shown live

TASK is a registered task, a shipped scene name ('embodied scenes') or a spec file. Writes
OUT/frames/*.png, OUT/episode.gif (captioned with actions and the model's thoughts),
OUT/steps.jsonl (per step: prompt hash, raw answer, parse path, action, result, tokens, cost)
and OUT/metrics.json (outcome, run config with every knob, per-agent token/cost/error totals).

Multi-agent scenes: '--agent openai:gpt-4o' plays every agent; '--agent ana=openai:gpt-4o
--agent bo=oracle' gives each its own; '--agent oracle --agent bo=random' gives bo random and
the rest oracle; '--set bo.temperature=0.7 --set bo.model=gpt-4o-mini' overrides one agent's
options. The API key comes from the environment (OPENAI_API_KEY or
--api-key-env NAME) and is never written anywhere. See docs/agents.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from ..cli import add_renderer_option, positive_float
from .demo import frame_size, positive_int

MODEL_KNOBS = (  # flag dest -> OpenAIAgent argument (same name)
    "base_url",
    "api_key_env",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "image_size",
    "jpeg_quality",
    "detail",
    "timeout",
    "retries",
    "backoff",
    "cache_dir",
    "prices",
    "prompt",
    "history",
    "history_k",
    "text_only",
    "hints",
    "interface",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("task", metavar="TASK", help="registered task, shipped scene name, or spec file")
    a(
        "--agent",
        action="append",
        default=None,
        metavar="[ID=]AGENT",
        help="openai:MODEL, oracle or random; ID=AGENT for one agent of a multi-agent scene (repeatable)",
    )
    a(
        "--base-url",
        default=None,
        help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (vLLM, Ollama)",
    )
    a(
        "--api-key-env",
        default="OPENAI_API_KEY",
        help="environment variable holding the API key (default: %(default)s)",
    )
    a("--max-steps", type=positive_int, default=None, help="step budget (default: the scene's)")
    a("--seed", type=int, default=0, help="episode seed (default: %(default)s)")
    a("--out", default="play_out", help="output directory (default: ./%(default)s)")
    a("--size", type=frame_size, default=224, help="rendered frame width and height (default: %(default)s)")
    add_renderer_option(parser)
    m = parser.add_argument_group("model")
    m.add_argument(
        "--temperature", type=float, default=0.0, help="sampling temperature (default: %(default)s)"
    )
    m.add_argument(
        "--top-p", type=float, default=None, help="nucleus sampling top_p (default: the endpoint's)"
    )
    m.add_argument(
        "--max-tokens",
        type=positive_int,
        default=400,
        help="answer length limit in tokens (default: %(default)s)",
    )
    m.add_argument(
        "--sampling-seed", dest="seed_model", type=int, default=None, help="the model's seed parameter"
    )
    m.add_argument(
        "--image-size",
        type=frame_size,
        default=None,
        help="longer side of the JPEG sent (default: as rendered)",
    )
    m.add_argument(
        "--jpeg-quality", type=int, default=85, help="JPEG quality of the image sent (default: %(default)s)"
    )
    m.add_argument(
        "--detail",
        choices=["auto", "low", "high"],
        default="auto",
        help="image detail requested (default: %(default)s)",
    )
    m.add_argument(
        "--request-timeout",
        "--timeout",
        dest="timeout",
        type=positive_float("timeout", "seconds"),
        default=60.0,
        help="seconds per request, as in bench run/freeze (default: %(default)s)",
    )
    m.add_argument(
        "--retries", type=int, default=5, help="retries of 429/5xx/timeouts/refused (default: %(default)s)"
    )
    m.add_argument(
        "--backoff", type=float, default=1.0, help="first backoff in seconds, doubling (default: %(default)s)"
    )
    m.add_argument("--cache", dest="cache_dir", default=None, metavar="DIR", help="on-disk response cache")
    m.add_argument(
        "--prices", default=None, metavar="FILE", help="price table (YAML: model: [USD/1M in, USD/1M out])"
    )
    m.add_argument(
        "--prompt", default="v1", help="prompt template version or YAML file (default: %(default)s)"
    )
    e = parser.add_argument_group("evaluation")
    e.add_argument(
        "--history",
        choices=["none", "last", "keyframes", "full"],
        default="last",
        help="earlier turns shown to the model (default: %(default)s)",
    )
    e.add_argument(
        "--history-k", type=int, default=3, help="turns (or key frames) kept (default: %(default)s)"
    )
    e.add_argument("--text-only", action="store_true", help="no image: a text description of what is visible")
    e.add_argument("--hints", action="store_true", help="tell the next milestone of the plan in words")
    e.add_argument(
        "--interface",
        choices=["ids", "free-text", "both"],
        default="both",
        help="answer with action ids, free text, or either (default: %(default)s)",
    )
    a(
        "--set",
        action="append",
        default=[],
        metavar="[ID.]KEY=VALUE",
        help="override an agent option (repeatable)",
    )
    a("--quiet", action="store_true", help="no live display, only the summary")


def model_flags_given(args: argparse.Namespace) -> list[str]:
    """The model options (--base-url, --temperature, ...) set to something other than their default."""
    p = argparse.ArgumentParser(add_help=False)
    add_arguments(p)
    dests = {"seed_model" if k == "seed" else k for k in MODEL_KNOBS}
    return [
        a.option_strings[0]
        for a in p._actions
        if a.dest in dests and getattr(args, a.dest, a.default) != a.default
    ]


def agent_specs(args: argparse.Namespace, agent_ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """agent id -> (agent name, options) from --agent, the knobs and --set."""
    import yaml

    from ..agents import agent_class, option_value
    from ..errors import ConfigError

    named: dict[str, str] = {}  # ID=AGENT, each id once
    bare = [spec for spec in args.agent or [] if "=" not in spec]  # AGENT: every agent not named
    if len(bare) > 1:
        raise ConfigError(
            f"--agent {bare[0]} and --agent {bare[1]}: give one agent for all, or one per agent "
            f"(ID=AGENT; agents: {', '.join(agent_ids)})"
        )
    for spec in args.agent or []:
        if "=" in spec:
            aid, _, name = spec.partition("=")
            if not name.strip() and (aid in agent_ids or not aid):  # (was: "unknown agent ''", later)
                raise ConfigError(
                    f"--agent {spec}: no agent after '='; give ID=AGENT, e.g. --agent {aid or agent_ids[0]}=oracle "
                    "(AGENT: openai:MODEL, oracle, random or human)"
                )
            if aid not in agent_ids:
                raise ConfigError(
                    f"--agent {spec}: no agent {aid!r} in this scene; agents: {', '.join(agent_ids)}"
                )
            if aid in named:
                raise ConfigError(
                    f"--agent {spec}: agent {aid} is already given ({aid}={named[aid]}); give it once"
                )
            named[aid] = name
    left = [aid for aid in agent_ids if aid not in named]
    if named and left and not bare:  # they would play as openai:gpt-4o, at OpenAI, unasked
        raise ConfigError(
            f"--agent: {', '.join(left)} {'has' if len(left) == 1 else 'have'} no agent; give "
            f"{left[0]}=AGENT too, or one for the rest (e.g. --agent oracle)"
        )
    names = {aid: named.get(aid, bare[0] if bare else "openai:gpt-4o") for aid in agent_ids}
    knobs = {k: getattr(args, "seed_model" if k == "seed" else k) for k in MODEL_KNOBS}
    out = {}
    for aid, name in names.items():
        opts = dict(knobs) if name.startswith("openai") else ({"seed": args.seed} if name == "random" else {})
        out[aid] = (name, opts)
    for item in args.set:
        key, eq, value = item.partition("=")
        aid, dot, key = key.rpartition(".")
        if not eq or not key:
            raise ConfigError(f"--set {item}: expected [ID.]KEY=VALUE, e.g. --set bo.temperature=0.7")
        targets = [aid] if dot else list(out)
        for t in targets:
            if t not in out:
                raise ConfigError(f"--set {item}: no agent {t!r}; agents: {', '.join(agent_ids)}")
            if key == "model":
                out[t] = (f"openai:{value}", out[t][1] or dict(knobs))
                continue
            try:  # typed as the agent's constructor says: '--set seed=abc' is refused here
                out[t][1][key] = option_value(agent_class(out[t][0]), key, value, yaml.safe_load)
            except yaml.YAMLError:
                raise ConfigError(
                    f"--set {item}: {value!r} is not a value; give a number, true/false, a word "
                    "or a [list], e.g. --set temperature=0.7"
                ) from None
            except ConfigError as e:
                raise ConfigError(f"--set {item}: {e}") from None
    return out


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..agents import make_agent
    from ..errors import ConfigError
    from ..tasks import make_task
    from .episode_out import out_dir, outputs, verdict

    task = make_task(args.task)  # an unknown task fails here, before an engine starts
    agent_ids = [a.id for a in task.spec(args.seed).agents]
    specs = agent_specs(args, agent_ids)
    if any(name == "human" for name, _ in specs.values()):
        from ..agents.human import require_input

        require_input()
    unused = model_flags_given(args)
    if unused and not any(name.startswith("openai") for name, _ in specs.values()):
        names = ", ".join(sorted({name for name, _ in specs.values()}))
        raise ConfigError(  # worded as 'embodied bench run' says it
            f"{', '.join(unused)}: --agent {names} takes no such option (the model options are for "
            "openai:MODEL agents); drop it or use --agent openai:MODEL"
        )
    agents = {}
    for aid, (name, opts) in specs.items():  # so do unknown agents and bad options
        try:
            agents[aid] = make_agent(name, **opts)
        except TypeError as e:
            bad = re.search(r"unexpected keyword argument '(\w+)'", str(e))
            if bad:
                e = f"no option '{bad.group(1)}'; options: {', '.join((*MODEL_KNOBS, 'model'))} (see docs/agents.md)"
            raise ConfigError(f"agent {aid} ({name}): {e}") from None
        except ConfigError as e:  # name the agent when a scene has several ('--agent bo=oracle' fixes bo)
            if len(specs) < 2:
                raise
            raise ConfigError(f"agent {aid} ({name}): {e}") from None
    configs = {
        aid: (ag.config() if hasattr(ag, "config") else {"agent": specs[aid][0], **specs[aid][1]})
        for aid, ag in agents.items()
    }
    console = Console()
    out = out_dir(args.out)  # a bad --out fails here, before an engine starts
    try:
        m = _play(task, args, agents, specs, configs, console, out)
    except KeyboardInterrupt:  # Ctrl-C: say what is on disk (the frames), and what is not
        frames = len(list((out / "frames").glob("*.png"))) if (out / "frames").is_dir() else 0
        print(
            f"embodied play: interrupted; {frames} frames are in {out / 'frames'} (steps.jsonl, metrics.json "
            "and the GIF are written when the episode ends; the same command plays it again)",
            file=sys.stderr,
        )
        return 130
    if not args.quiet:
        console.print()
    console.print(
        f"{verdict(m)}: {m.steps} steps ({m.optimal_actions} plan actions), progress {m.progress:.0%}"
    )
    for aid, s in (m.agent_stats or {}).items():
        console.print(f"  {aid}: {summary(s)}")
    outputs(console, m, out)
    return 0


def _play(task, args, agents, specs, configs, console, out):
    """The episode, shown live and recorded into ``out``; its metrics."""
    from ..record import run_episode
    from .episode_out import banner, open_env

    with open_env(task, args) as env:
        label = (
            ", ".join(f"{aid}={specs[aid][0]}" for aid in agents)
            if len(agents) > 1
            else specs[env.agent_id][0]
        )
        banner(console, "play", label, env, "")
        live = LiveView(console, agents, quiet=args.quiet)
        with live:
            m = run_episode(
                env,
                agents if len(agents) > 1 else agents[env.agent_id],
                out,
                agent_name=label,
                agent_options=configs if len(agents) > 1 else configs[env.agent_id],
                on_records=live.update,
            )
    return m


def summary(s: dict[str, Any]) -> str:
    cost = "unknown (model not in the price table)" if s["cost_usd"] is None else f"${s['cost_usd']:.4f}"
    return (
        f"{s['calls']} calls ({s['cache_hits']} cached), {s['prompt_tokens']}+{s['completion_tokens']} tokens, "
        f"{s['images']} images, cost {cost}; format errors {s['format_errors']}, invalid actions "
        f"{s['invalid_actions']}, failed actions {s['failed_actions']}, invalid no-ops {s['invalid_noops']}, "
        f"API errors {s['api_errors']} {s['api_error_classes'] or ''}"
    )


class LiveView:
    """A rich live table of the last steps: step, agent, thought, action, result, tokens, cost so far."""

    ROWS = 12

    def __init__(self, console, agents: dict, quiet: bool = False):
        self.console, self.agents, self.quiet = console, agents, quiet
        self.rows: list[tuple] = []
        self.step = 0
        self._live = None

    def __enter__(self) -> LiveView:
        if not self.quiet:
            from rich.live import Live

            self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def update(self, step: int, recs: list[dict]) -> None:
        self.step = step
        for r in recs:
            if r["action"] == "Pass" and not r.get("noop") and len(recs) > 1:
                continue
            result = ("ok " if r["success"] else "FAILED ") + (r["error"] or r["text"] or "")
            if r.get("noop"):
                result = "invalid no-op: " + str(r.get("answer_error") or r.get("api_error") or "")
            self.rows.append(
                (str(step), r["agent"], (r.get("thought") or "")[:200], r["action"], result[:160])
            )
        self.rows = self.rows[-self.ROWS :]
        if self._live is not None:
            self._live.update(self._render())

    def _render(self):
        from rich.table import Table

        t = Table(expand=True, title=f"step {self.step}", title_justify="left")
        for col, kw in (
            ("step", {"width": 4}),
            ("agent", {"width": 6}),
            ("thought", {"ratio": 3}),
            ("action", {"ratio": 2}),
            ("result", {"ratio": 3}),
        ):
            t.add_column(col, overflow="fold", **kw)
        for row in self.rows:
            t.add_row(*row)
        totals = []
        for aid, ag in self.agents.items():
            if hasattr(ag, "stats"):
                s = ag.stats()
                cost = "?" if s["cost_usd"] is None else f"${s['cost_usd']:.4f}"
                totals.append(
                    f"{aid}: {s['prompt_tokens'] + s['completion_tokens']} tokens, {cost}, "
                    f"API errors {s['api_errors']}, format errors {s['format_errors']}"
                )
        t.caption = " | ".join(totals) or None
        return t
