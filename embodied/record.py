"""Run one episode and record it: every frame as PNG, a captioned GIF, steps.jsonl, metrics.json."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CAPTION_H = 44


@dataclass
class EpisodeMetrics:
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
        draw.text((6, img.height + 4 + 19 * i), line[:60], fill=(235, 235, 235) if i == 0 else (150, 210, 150), font=font)
    return out


def run_episode(env, agent, out: str | Path | None = None, agent_name: str = "agent",
                on_step: Callable[[int, dict], None] | None = None, gif_ms: int = 220) -> EpisodeMetrics:
    """Run ``agent`` in ``env`` until it terminates or runs out of steps; record into ``out`` if given."""
    out = Path(out) if out else None
    frames_dir = None
    if out:
        frames_dir = out / "frames"
        frames_dir.mkdir(parents=True, exist_ok=True)
    obs, info = env.reset()
    agent.reset(env)
    gif: list[Image.Image] = []
    log = []
    start = time.perf_counter()
    step, failed = 0, 0
    if out:
        Image.fromarray(obs["rgb"]).save(frames_dir / f"{step:04d}.png")
        gif.append(caption(obs["rgb"], [f"{env.spec.name}: start", info["agent"]["room"]]))
    while True:
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        step += 1
        failed += not info["lastActionSuccess"]
        rec = {"step": step, "action": info["action"] or str(action), "success": info["lastActionSuccess"],
               "error": info["errorMessage"], "text": obs["text"], "reward": reward, "progress": info["progress"]}
        log.append(rec)
        if on_step:
            on_step(step, rec)
        if out:
            Image.fromarray(obs["rgb"]).save(frames_dir / f"{step:04d}.png")
            mark = "" if info["lastActionSuccess"] else "  (failed)"
            gif.append(caption(obs["rgb"], [f"{step:3d}  {rec['action']}{mark}", obs["text"] or f"room: {info['agent']['room']}"]))
        if terminated or truncated:
            break
    seconds = time.perf_counter() - start
    m = EpisodeMetrics(env.spec.name, agent_name, bool(info["success"]), step, env.verdict.length, info["progress"],
                       failed, round(seconds, 3), round(step / max(seconds, 1e-9), 1),
                       str(frames_dir) if frames_dir else None)
    if out:
        if gif:
            gif += [gif[-1]] * 6  # linger on the last frame
            m.gif = str(out / "episode.gif")
            gif[0].save(m.gif, save_all=True, append_images=gif[1:], duration=gif_ms, loop=0, optimize=False)
        (out / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
        (out / "metrics.json").write_text(json.dumps(asdict(m), indent=2) + "\n")
    return m


def metrics_dict(m: EpisodeMetrics) -> dict[str, Any]:
    return asdict(m)
