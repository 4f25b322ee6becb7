"""One benchmark episode: build the scene, run every agent, measure, write the replay.

The result is one flat JSON-able dict (a line of ``results.jsonl``). Per-step agent telemetry
is read from ``agent.last`` after each ``act`` when an agent sets it (a dict; the VLM agent
does): ``thought``, ``prompt``, ``format_error`` (bool), ``api_error`` (bool),
``tokens_in``, ``tokens_out``, ``images``, ``cost`` (USD), ``parse_path``. Latency is the
wall time of ``act`` measured here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ..actions import NAVIGATION
from ..errors import EngineError, ProtocolError
from ..record import _font, fit_text
from .suites import Episode, Suite

FRAME_MODES = ("none", "gif", "all")
CAPTION_LINES = 3
CAPTION_ROWS = 2  # rows per caption line in a replay


def make_agents(agent: str, agent_kwargs: dict[str, Any], agent_ids: list[str], seed: int) -> dict[str, Any]:
    """One agent object per agent id in the scene (every teammate plays the same kind)."""
    from .agents import build_agent

    return {
        aid: build_agent(agent, agent_kwargs, seed=seed * 101 + i, agent_id=aid)
        for i, aid in enumerate(agent_ids)
    }


def telemetry(agent) -> dict[str, Any]:
    """The agent's report on its last ``act``: ``agent.last`` (this harness's keys) or the
    ``openai:`` agent's ``last_record``, in this harness's keys."""
    rec = getattr(agent, "last_record", None)
    if rec:
        turn = (getattr(agent, "turns", None) or [{}])[-1]
        return {
            "thought": rec.get("thought"),
            "prompt": turn.get("text") if isinstance(turn, dict) else None,
            "format_error": bool(rec.get("format_errors")),
            "invalid": bool(rec.get("noop")) and not rec.get("api_error"),
            "api_error": bool(rec.get("api_error") or rec.get("api_errors")),
            "tokens_in": rec.get("prompt_tokens") or 0,
            "tokens_out": rec.get("completion_tokens") or 0,
            "images": rec.get("images") or 0,
            "cost": rec.get("cost_usd") or 0.0,
            "parse_path": rec.get("parse_path"),
            "noop": bool(rec.get("noop")),
        }
    return dict(getattr(agent, "last", None) or {})


def caption(frame: np.ndarray, lines: list[str], scale: int | None = None) -> Image.Image:
    """The frame (at its own size: a viewer or the report enlarges it) with a caption bar:
    thought, action, feedback, each on up to ``CAPTION_ROWS`` rows (then cut with '…').
    ``scale`` None: a frame narrower than 224 px is enlarged (whole times) so the caption has room."""
    img = Image.fromarray(frame)
    if scale is None:
        scale = max(1, -(-224 // frame.shape[1]))
    if scale != 1:
        img = img.resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST)
    row = 13
    out = Image.new("RGB", (img.width, img.height + 4 + row * CAPTION_LINES * CAPTION_ROWS), (20, 20, 24))
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    colors = [(180, 190, 255), (235, 235, 235), (150, 210, 150)]
    y = img.height + 2
    for i, line in enumerate(lines[:CAPTION_LINES]):
        for text in _rows(draw, line, img.width - 6):
            draw.text((3, y), text, fill=colors[i % 3], font=_font(11))
            y += row
    return out


def _rows(draw: ImageDraw.ImageDraw, line: str, room: float) -> list[str]:
    """``line`` broken at spaces (its own spacing kept) into at most ``CAPTION_ROWS`` rows of
    ``room`` pixels, the last cut with '…' if the rest does not fit."""
    font, rows, rest = _font(11), [], line.strip()
    while rest and len(rows) < CAPTION_ROWS - 1 and draw.textlength(rest, font=font) > room:
        cuts = [i for i, ch in enumerate(rest) if ch == " " and draw.textlength(rest[:i], font=font) <= room]
        if not cuts:
            break  # one word longer than a row: cut below
        rows.append(rest[: cuts[-1]].rstrip())
        rest = rest[cuts[-1] :].lstrip()
    if rest:
        rows.append(fit_text(draw, rest, room, sizes=(11,))[1])
    return rows


def _state_key(env, aid: str) -> tuple:
    w = env.world
    a = w.agent(aid)
    objs = tuple(
        (t, s["open"], s["locked"], s.get("on", False), tuple(s["loc"]) if "loc" in s else None)
        for t, s in sorted(w.state["objects"].items())
    )
    doors = tuple((t, s["open"], s["locked"]) for t, s in sorted(w.state["doors"].items()))
    return (
        round(a["x"], 2),
        round(a["y"], 2),
        round(a["yaw"]) % 360,
        a["horizon"],
        tuple(a["inventory"]),
        objs,
        doors,
    )


def play(
    env,
    agents: dict[str, Any],
    out: Path | None,
    frames: str = "gif",
    on_step=None,
) -> dict[str, Any]:
    """Run an episode to its end; return the measured figures and write the replay to ``out``."""
    ids = list(agents)
    obs, infos = env.reset_all()
    for aid, ag in agents.items():
        ag.agent_id = aid
        ag.reset(env)
    gif: list[Image.Image] = []
    steps_log: list[dict[str, Any]] = []
    seen = {_state_key(env, aid) for aid in ids}
    counted = ("steps", "actions", "invalid", "format_errors", "api_errors", "interactions")
    counted += ("failed_interactions", "loops", "tokens_in", "tokens_out", "images")
    c: dict[str, Any] = dict.fromkeys(counted, 0) | {"cost": 0.0, "latency": 0.0}
    if out is not None and frames == "all":
        (out / "frames").mkdir(parents=True, exist_ok=True)

    def snapshot(step: int, lines: list[str]) -> None:
        if out is None or frames == "none":
            return
        frame = np.concatenate([obs[aid]["rgb"] for aid in ids], axis=1)
        if frames == "all":
            for aid in ids:
                Image.fromarray(obs[aid]["rgb"]).save(out / "frames" / f"{step:04d}_{aid}.png")
        gif.append(caption(frame, lines))

    snapshot(0, [env.spec.description or env.spec.name, "start", f"room: {infos[ids[0]]['agent']['room']}"])
    t0 = time.perf_counter()
    terminated = truncated = False
    while not (terminated or truncated):
        actions, tele = {}, {}
        allowed = {aid: infos[aid]["allowed_actions"] for aid in ids}
        for aid in ids:
            t = time.perf_counter()
            actions[aid] = agents[aid].act(obs[aid], infos[aid])
            tele[aid] = {**telemetry(agents[aid]), "latency": time.perf_counter() - t}
        obs, _rew, terminated, truncated, infos = env.step_all(actions)
        c["steps"] += 1
        recs = []
        for aid in ids:
            i, tl = infos[aid], tele[aid]
            act = i["action"]
            if act == "Pass" and not tl.get("noop"):
                continue  # waiting for a teammate is no action (an unusable model answer is)
            c["actions"] += 1
            c["invalid"] += act is None or bool(tl.get("invalid"))
            c["format_errors"] += bool(tl.get("format_error"))
            c["api_errors"] += bool(tl.get("api_error"))
            if act is not None and act.split("(")[0] not in NAVIGATION:
                c["interactions"] += 1
                c["failed_interactions"] += not i["lastActionSuccess"]
            key = _state_key(env, aid)
            c["loops"] += key in seen
            seen.add(key)
            for k in ("tokens_in", "tokens_out", "images", "cost"):
                c[k] += tl.get(k) or 0
            c["latency"] += tl["latency"]
            recs.append(
                {
                    "step": c["steps"],
                    "agent": aid,
                    "raw": actions[aid] if isinstance(actions[aid], (str, int)) else str(actions[aid]),
                    "action": act,
                    "success": i["lastActionSuccess"],
                    "error": i["errorMessage"],
                    "text": obs[aid]["text"],
                    "progress": i["progress"],
                    "thought": tl.get("thought"),
                    "prompt": tl.get("prompt"),
                    "allowed": allowed[aid],
                    "frame": f"frames/{c['steps'] - 1:04d}_{aid}.png" if frames == "all" else None,
                    "latency": round(tl["latency"], 4),
                    **{
                        k: tl[k]
                        for k in ("tokens_in", "tokens_out", "images", "cost", "parse_path")
                        if k in tl
                    },
                }
            )
        steps_log += recs
        if on_step:
            on_step(c["steps"], recs)
        shown = recs or [{"agent": ids[0], "action": "Pass", "success": True, "text": "", "thought": None}]
        who = (lambda r: f"{r['agent']}: ") if len(ids) > 1 else (lambda r: "")
        snapshot(
            c["steps"],
            [
                " | ".join(f"{who(r)}{r['thought']}" for r in shown if r.get("thought")) or "",
                f"{c['steps']:3d} "
                + " | ".join(f"{who(r)}{r['action']}{'' if r['success'] else ' (failed)'}" for r in shown),
                " | ".join(
                    f"{who(r)}{r['text'] or r.get('error') or ''}"
                    for r in shown
                    if r["text"] or r.get("error")
                )
                or f"room: {infos[ids[0]]['agent']['room']}",
            ],
        )
    seconds = time.perf_counter() - t0
    info = infos[ids[0]]
    if out is not None:
        if gif:
            ms = [250] * (len(gif) - 1) + [1500]  # the last frame held (not five copies of it)
            gif[0].save(out / "replay.gif", save_all=True, append_images=gif[1:], duration=ms, loop=0)
        (out / "steps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in steps_log))
    return {"success": bool(info["success"]), "progress": float(info["progress"]), "seconds": seconds, **c}


def run(
    suite: Suite,
    ep: Episode,
    agent: str,
    agent_kwargs: dict[str, Any],
    engine_factory,
    out: Path | None,
    size: int = 224,
    frames: str = "gif",
    max_retries: int = 2,
    on_step=None,
) -> dict[str, Any]:
    """Run one episode with retries on engine crashes; ``engine_factory(restart: bool)`` gives
    a connected engine client (a fresh one when ``restart``). Returns the result line."""
    from ..env import Env

    spec = suite.spec(ep.tier, ep.seed)
    plan = suite.plan(ep.tier, ep.seed, spec)
    retries: list[str] = []
    while True:
        engine = engine_factory(bool(retries))
        try:
            with Env(
                spec, engine=engine, width=size, height=size, seed=ep.seed, max_steps=plan["budget"]
            ) as env:
                agents = make_agents(agent, agent_kwargs, env.world.agent_ids, ep.seed)
                m = play(env, agents, out, frames, on_step)
                prompts = getattr(next(iter(agents.values())), "prompts", None)
            break
        except (EngineError, ConnectionError, OSError) as e:
            if isinstance(e, ProtocolError) or len(retries) >= max_retries:
                raise
            retries.append(f"{type(e).__name__}: {e}"[:300])
    spl = (plan["optimal"] / max(plan["optimal"], m["steps"])) if m["success"] else 0.0
    n = max(1, m["actions"])
    return {
        "key": ep.key,
        "suite": ep.suite,
        "version": ep.version,
        "tier": ep.tier,
        "seed": ep.seed,
        "scene": spec.name,
        "task": spec.description or "",
        "scene_hash": plan["hash"],
        "agent": agent,
        "agents": len(spec.agents),
        "success": m["success"],
        "progress": round(m["progress"], 4),
        "spl": round(spl, 4),
        "steps": m["steps"],
        "optimal_steps": plan["optimal"],
        "budget": plan["budget"],
        "invalid_rate": round(m["invalid"] / n, 4),
        "format_error_rate": round(m["format_errors"] / n, 4),
        "api_error_rate": round(m["api_errors"] / n, 4),
        "failed_interaction_rate": round(m["failed_interactions"] / max(1, m["interactions"]), 4),
        "loop_rate": round(m["loops"] / n, 4),
        "tokens": m["tokens_in"] + m["tokens_out"],
        "tokens_in": m["tokens_in"],
        "tokens_out": m["tokens_out"],
        "images": m["images"],
        "cost": round(m["cost"], 6),
        "latency": round(m["latency"] / n, 5),
        "seconds": round(m["seconds"], 3),
        "prompt_version": getattr(prompts, "version", None),
        "prompt_hash": getattr(prompts, "hash", None),
        "retries": len(retries),
        "retry_errors": retries,
        "replay": f"episodes/{ep.key}/replay.gif" if out is not None and frames != "none" else None,
    }
