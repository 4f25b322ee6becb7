"""Export a run's steps for fine-tuning: one JSONL record per agent step, images as files.

Each record: ``id``, ``episode`` (suite/tier/seed), ``suite``, ``tier``, ``seed``, ``step``,
``agent``, ``prompt`` (the agent's own prompt when it recorded one, else the task, feedback and
numbered allowed actions as text), ``image`` (path of the frame the agent saw, relative to the
JSONL file), ``rationale`` (the agent's thought, or ""), ``action`` (canonical), ``success``
(did the action succeed), ``episode_success``. Loads with
``datasets.load_dataset("json", data_files="DIR/data.jsonl")``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .rundir import RunDir
from .suites import SuiteError


def default_prompt(task: str, rec: dict[str, Any]) -> str:
    allowed = "\n".join(f"{i}. {a}" for i, a in enumerate(rec.get("allowed") or []))
    return f"Task: {task}\nStep {rec['step']}.\nAllowed actions:\n{allowed}\nAnswer with one action."


def export(run_dir: str | Path, out: str | Path, successful_only: bool = False) -> dict[str, int]:
    """Write ``out/data.jsonl`` and ``out/images/``; returns counts."""
    rd = RunDir(run_dir)
    cfg = rd.config()
    if cfg.get("frames") != "all":
        raise SuiteError(
            f"{run_dir} was run with --frames {cfg.get('frames')}; export needs every frame: run it with --frames all"
        )
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    n_rec = n_ep = 0
    with open(out / "data.jsonl.tmp", "w") as f:
        for r in rd.results():
            if successful_only and not r["success"]:
                continue
            ep_dir = rd.episode_dir(r["key"])
            steps = ep_dir / "steps.jsonl"
            if not steps.exists():
                continue
            n_ep += 1
            for line in steps.read_text().splitlines():
                rec = json.loads(line)
                if not rec.get("frame") or not (ep_dir / rec["frame"]).exists():
                    continue
                name = f"{r['key'].replace('/', '_')}_{rec['step']:04d}_{rec['agent']}.png"
                shutil.copyfile(ep_dir / rec["frame"], out / "images" / name)
                row = {
                    "id": f"{r['key']}/{rec['step']}/{rec['agent']}",
                    "episode": r["key"],
                    "suite": r["suite"],
                    "tier": str(r["tier"]),
                    "seed": int(r["seed"]),
                    "step": int(rec["step"]),
                    "agent": rec["agent"],
                    "prompt": rec.get("prompt") or default_prompt(r.get("task", ""), rec),
                    "image": f"images/{name}",
                    "rationale": rec.get("thought") or "",
                    "action": rec.get("action") or "",
                    "success": bool(rec.get("success")),
                    "episode_success": bool(r["success"]),
                }
                f.write(json.dumps(row) + "\n")
                n_rec += 1
    (out / "data.jsonl.tmp").replace(out / "data.jsonl")
    return {"episodes": n_ep, "records": n_rec}
