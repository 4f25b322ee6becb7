"""Run one episode and record it: every frame as PNG, a captioned GIF, steps.jsonl, metrics.json."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .tasks import describe_goal

CAPTION_H = 44


@dataclass
class EpisodeMetrics:
    """What ``metrics.json`` holds: the outcome, and everything needed to run the episode again."""

    scene: str
    agent: str
    success: bool
    steps: int
    optimal_actions: int
    progress: float
    failed_actions: int
    seconds: float
    steps_per_second: float
    frames_dir: str | None = None
    gif: str | None = None
    end_reason: str = (
        ""  # "goal reached" | "agent said Done before the goal" | "step budget of N steps reached" | ...
    )
    task: str = ""  # the goal in words
    goal: dict | None = None
    episode_return: float = 0.0
    run: dict | None = None  # see run_config()
    agent_stats: dict | None = None  # agent id -> agent.stats() for agents that keep them (openai:MODEL)
    engine_faults: dict | None = None  # engine crashes/hangs/timeouts survived, and restarts


def run_config(env, agent_name: str, agent_options: dict | None = None) -> dict:
    """Everything that reproduces a run: package version, scene, task, seed, budget, frames, engine, agent."""
    from . import __version__

    engine = getattr(env, "engine", None)
    info = getattr(engine, "info", None) or {}
    return {
        "embodied_version": __version__,
        "scene": env.spec.name,
        "task": getattr(env.task, "name", "") or env.spec.name,
        "goal": env.spec.goal,
        "seed": env.seed,
        "max_steps": env.max_steps,
        "width": env.width,
        "height": env.height,
        "fov": env.nav.fov,
        "modalities": list(env.modalities),
        "high_level": env.high_level,
        "renderer": info.get("renderer") or env.renderer,
        "engine": info.get("engine", "panda3d"),
        "agent": agent_name,
        "agent_options": dict(agent_options or {}),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def caption(frame: np.ndarray, lines: list[str], scale: int = 2) -> Image.Image:
    """The frame enlarged ``scale`` times with a caption bar underneath (up to 4 lines; the bar
    grows by one line height past two)."""
    lines = lines[:4]
    img = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST)
    out = Image.new("RGB", (img.width, img.height + CAPTION_H + 19 * max(0, len(lines) - 2)), (20, 20, 24))
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    colors = [(235, 235, 235), (150, 210, 150), (240, 200, 120), (240, 200, 120)]
    for i, line in enumerate(lines):
        font, text = fit_text(draw, line, img.width - 12)
        draw.text((6, img.height + 4 + 19 * i), text, fill=colors[i], font=font)
    return out


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def fit_text(draw: ImageDraw.ImageDraw, line: str, room: float, sizes: tuple[int, ...] = (15, 12)):
    """A font and text that fit ``room`` pixels: smaller type for a long line, then cut with '…'."""
    for size in sizes:
        font = _font(size)
        if draw.textlength(line, font=font) <= room:
            return font, line
    lo, hi = 0, len(line)  # longest prefix that fits with the ellipsis
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if draw.textlength(line[:mid].rstrip() + "…", font=font) <= room:
            lo = mid
        else:
            hi = mid - 1
    return font, line[:lo].rstrip() + "…"


def run_episode(
    env,
    agent,
    out: str | Path | None = None,
    agent_name: str = "agent",
    agent_options: dict | None = None,
    on_step: Callable[[int, dict], None] | None = None,
    gif_ms: int = 220,
    on_records: Callable[[int, list[dict]], None] | None = None,
) -> EpisodeMetrics:
    """Run ``agent`` in ``env`` until the episode ends; record into ``out`` if given.

    ``agent`` is one agent (it controls ``env.agent_id``) or a dict agent id -> agent for
    multi-agent scenes: all act each step (``env.step_all``) and frames are shown side by side.
    An agent's ``last_record`` (a dict, if it keeps one: model agents record their prompt hash,
    raw answer, parse path, thought, tokens, cost) is merged into its line of ``steps.jsonl`` and
    its thought captions the GIF; its ``stats(final_info)`` goes into ``metrics.agent_stats``.
    ``on_step(step, first_record)`` and ``on_records(step, records)`` see each step as it ends.
    If an agent raises (an endpoint that stays down), what was recorded is still written, with
    the error as ``end_reason``, and the error is re-raised.
    """
    agents = agent if isinstance(agent, dict) else {env.agent_id: agent}
    ids = list(agents)
    out = Path(out) if out else None
    frames_dir = None
    if out:
        frames_dir = out / "frames"
        frames_dir.mkdir(parents=True, exist_ok=True)
    obs, infos = env.reset_all()
    config = run_config(env, agent_name, agent_options)
    for aid, ag in agents.items():
        ag.agent_id = aid
        ag.reset(env)
    gif: list[Image.Image] = []
    log = []
    start = time.perf_counter()
    step, failed, total = 0, 0, 0.0
    said_done = False

    def record(lines: list[str]) -> None:
        frame = np.concatenate([obs[aid]["rgb"] for aid in ids], axis=1)
        Image.fromarray(frame).save(frames_dir / f"{step:04d}.png", compress_level=1)
        # palette now, with the fast quantizer: the GIF encoder's default one was ~5x slower per frame
        gif.append(caption(frame, lines).quantize(colors=256, method=Image.Quantize.FASTOCTREE))

    thoughts = any(hasattr(ag, "last_record") for ag in agents.values())  # model agents: a thought line
    if out:
        record([f"{env.spec.name}: start", infos[ids[0]]["agent"]["room"]] + ["", ""] * thoughts)
    error: BaseException | None = None
    truncated = False
    while True:
        try:
            actions = {aid: agents[aid].act(obs[aid], infos[aid]) for aid in ids}
        except Exception as e:  # an agent gave up (e.g. its endpoint is down): keep what was recorded
            error = e
            break
        obs, rewards, terminated, truncated, infos = env.step_all(actions)
        step += 1
        recs = []
        for aid in ids:
            i = infos[aid]
            failed += not i["lastActionSuccess"]
            said_done |= i["action"] == "Done"
            recs.append(
                {
                    "step": step,
                    "agent": aid,
                    "action": i["action"] or str(actions[aid]),
                    "success": i["lastActionSuccess"],
                    "error": i["errorMessage"],
                    "text": obs[aid]["text"],
                    "reward": rewards[aid],
                    "progress": i["progress"],
                    **{
                        k: v
                        for k, v in (getattr(agents[aid], "last_record", None) or {}).items()
                        if k != "error"
                    },
                }
            )
            if (getattr(agents[aid], "last_record", None) or {}).get("error"):
                recs[-1]["answer_error"] = agents[aid].last_record["error"]
        total += float(rewards[ids[0]])
        if step == 1:
            recs[0]["run"] = config  # the first line of steps.jsonl says how to reproduce the run
        log += recs
        if on_step:
            on_step(step, recs[0])
        if on_records:
            on_records(step, recs)
        if out:
            shown = [r for r in recs if r["action"] != "Pass" or r.get("noop")] or recs[:1]
            who = (lambda r: f"{r['agent']}: ") if len(ids) > 1 else (lambda r: "")
            line1 = "  ".join(
                f"{who(r)}{r['action']}{' (invalid no-op)' if r.get('noop') else '' if r['success'] else ' (failed)'}"
                for r in shown
            )
            line2 = (
                " ".join(r["text"] for r in shown if r["text"]) or f"room: {infos[ids[0]]['agent']['room']}"
            )
            lines = [f"{step:3d}  {line1}", line2]
            if thoughts:  # two lines of the model's thought (or why its answer was unusable)
                said = " ".join(f"{who(r)}{r.get('thought') or r.get('answer_error') or ''}" for r in shown)
                width = max(20, sum(obs[a]["rgb"].shape[1] for a in ids) * 2 // 8)
                lines += [*textwrap.wrap(" ".join(said.split()), width), "", ""][:2]
            record(lines)
        if terminated or truncated:
            break
    seconds = time.perf_counter() - start
    info = infos[ids[0]]
    if info["success"]:
        reason = "goal reached"
    elif said_done:
        reason = "agent said Done before the goal"
    elif truncated:
        reason = f"step budget of {env.max_steps} steps reached"
    elif error is not None:
        reason = f"stopped by an error: {type(error).__name__}: {error}"
    else:
        reason = "episode ended"
    m = EpisodeMetrics(
        env.spec.name,
        agent_name,
        bool(info["success"]),
        step,
        env.verdict.length,
        info["progress"],
        failed,
        round(seconds, 3),
        round(step / max(seconds, 1e-9), 1),
        str(frames_dir) if frames_dir else None,
        end_reason=reason,
        task=describe_goal(env.spec.goal),
        goal=env.spec.goal,
        episode_return=round(total, 6),
        run=config,
        engine_faults=info.get("engine_faults"),
    )
    stats = {aid: ag.stats(infos[aid]) for aid, ag in agents.items() if callable(getattr(ag, "stats", None))}
    m.agent_stats = stats or None
    if out:
        if gif:
            gif += [gif[-1]] * 6  # linger on the last frame
            m.gif = str(out / "episode.gif")
            gif[0].save(m.gif, save_all=True, append_images=gif[1:], duration=gif_ms, loop=0, optimize=False)
        (out / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
        (out / "metrics.json").write_text(json.dumps(asdict(m), indent=2) + "\n")
    if error is not None:
        raise error
    return m
