"""Run one episode and record it: every frame as PNG, a captioned GIF, steps.jsonl, metrics.json."""

from __future__ import annotations

import json
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
    end_reason: str = ""  # "goal reached" | "agent stopped (Done)" | "step budget reached (N steps)"
    task: str = ""  # the goal in words
    goal: dict | None = None
    episode_return: float = 0.0
    run: dict | None = None  # see run_config()


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
    """The frame enlarged ``scale`` times with a caption bar underneath."""
    img = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST)
    out = Image.new("RGB", (img.width, img.height + CAPTION_H), (20, 20, 24))
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    try:
        font = ImageFont.load_default(size=15)
    except TypeError:  # Pillow without FreeType
        font = ImageFont.load_default()
    for i, line in enumerate(lines[:2]):
        draw.text(
            (6, img.height + 4 + 19 * i),
            line[:60],
            fill=(235, 235, 235) if i == 0 else (150, 210, 150),
            font=font,
        )
    return out


def run_episode(
    env,
    agent,
    out: str | Path | None = None,
    agent_name: str = "agent",
    agent_options: dict | None = None,
    on_step: Callable[[int, dict], None] | None = None,
    gif_ms: int = 220,
) -> EpisodeMetrics:
    """Run ``agent`` in ``env`` until the episode ends; record into ``out`` if given.

    ``agent`` is one agent (it controls ``env.agent_id``) or a dict agent id -> agent for
    multi-agent scenes: all act each step (``env.step_all``) and frames are shown side by side.
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
        Image.fromarray(frame).save(frames_dir / f"{step:04d}.png")
        gif.append(caption(frame, lines))

    if out:
        record([f"{env.spec.name}: start", infos[ids[0]]["agent"]["room"]])
    while True:
        actions = {aid: agents[aid].act(obs[aid], infos[aid]) for aid in ids}
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
                }
            )
        total += float(rewards[ids[0]])
        if step == 1:
            recs[0]["run"] = config  # the first line of steps.jsonl says how to reproduce the run
        log += recs
        if on_step:
            on_step(step, recs[0])
        if out:
            shown = [r for r in recs if r["action"] != "Pass"] or recs[:1]
            who = (lambda r: f"{r['agent']}: ") if len(ids) > 1 else (lambda r: "")
            line1 = "  ".join(f"{who(r)}{r['action']}{'' if r['success'] else ' (failed)'}" for r in shown)
            line2 = (
                " ".join(r["text"] for r in shown if r["text"]) or f"room: {infos[ids[0]]['agent']['room']}"
            )
            record([f"{step:3d}  {line1}", line2])
        if terminated or truncated:
            break
    seconds = time.perf_counter() - start
    info = infos[ids[0]]
    if info["success"]:
        reason = "goal reached"
    elif said_done:
        reason = "agent stopped (Done) before the goal"
    elif truncated:
        reason = f"step budget reached ({env.max_steps} steps)"
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
    )
    if out:
        if gif:
            gif += [gif[-1]] * 6  # linger on the last frame
            m.gif = str(out / "episode.gif")
            gif[0].save(m.gif, save_all=True, append_images=gif[1:], duration=gif_ms, loop=0, optimize=False)
        (out / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
        (out / "metrics.json").write_text(json.dumps(asdict(m), indent=2) + "\n")
    return m
