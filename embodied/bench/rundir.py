"""A run directory: the config snapshot, one JSONL line per finished episode, replays, metrics.

Layout::

    DIR/config.json        everything needed to reproduce the run (suites + versions, agent and
                           its options, tiers, seeds, frame size, package version)
    DIR/results.jsonl      one line per finished episode, appended atomically (one write(2) of
                           a whole line with O_APPEND, then fsync) by the one parent process
    DIR/episodes/SUITE/TIER/SEED/   replay.gif, steps.jsonl, frames/ (moved in when finished)
    DIR/metrics.json       per suite and tier: mean and standard error of every metric

Killed at any moment, the directory holds whole lines only for finished episodes (a torn
last line, if the kill hit mid-write, is dropped on reopening), so starting the same command
again skips them and runs the rest; an episode is never written twice.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .suites import SuiteError

# config keys that must match when a run is resumed (the rest, e.g. workers, may change)
PINNED = ("suites", "agent", "agent_options", "size", "frames")
FLAGS = {"suites": "--suite", "agent": "--agent", "agent_options": "agent options", "size": "--size"}
FLAGS["frames"] = "--frames"


def _shown(key: str, value: Any, definition: bool = False) -> str:
    """A pinned setting as a user wrote it: 'NAV v1, ESC v3', 'temperature=0.2', 224."""
    if key == "suites" and isinstance(value, dict):
        return ", ".join(
            f"{n} v{d.get('version')}" + (f" (definition {d.get('definition')})" if definition else "")
            for n, d in value.items()
        )
    if key == "agent_options" and isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
    return str(value)


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.results_path = self.path / "results.jsonl"
        self.config_path = self.path / "config.json"

    def exists(self) -> bool:
        return self.config_path.exists()

    def config(self) -> dict[str, Any]:
        if not self.exists():
            raise SuiteError(f"{self.path} is not a benchmark run directory (no config.json)")
        return json.loads(self.config_path.read_text())

    def check(self, config: dict[str, Any]) -> None:
        """Raise SuiteError when an existing run here was started with other pinned settings."""
        if not self.exists():
            if self.path.exists() and not self.path.is_dir():
                raise SuiteError(f"--out {self.path} is a file; give a directory")
            return
        old = self.config()
        for k in PINNED:
            if old.get(k) != config.get(k):
                was, now = _shown(k, old.get(k)), _shown(k, config.get(k))
                if was == now:  # same names and versions: the suite's definition changed
                    was, now = _shown(k, old.get(k), True), _shown(k, config.get(k), True)
                raise SuiteError(
                    f"{self.path} holds a run with other {FLAGS[k]} ({was}; now {now}): use another "
                    "--out, or the same settings to resume it"
                )

    def start(self, config: dict[str, Any]) -> list[Path] | None:
        """Create the directory, or check that an existing one was started with the same settings.
        A new run: the directories made for it (none existed before), for :meth:`discard`."""
        self.check(config)
        if self.exists():
            old = self.config()
            merged = {
                **old,
                "episodes": sorted(set(old.get("episodes", [])) | set(config.get("episodes", []))),
            }
            merged["resumed"] = old.get("resumed", 0) + 1
            self._write_config(merged)
            return None
        here = (self.path / "staging", self.path / "episodes", self.results_path)
        made = [p for p in (*here, self.path, *self.path.parents) if not p.exists()]
        self.path.mkdir(parents=True, exist_ok=True)
        self._write_config(config)
        return made

    def discard(self, made: list[Path]) -> None:
        """Undo :meth:`start` of a run that finished no episode: its config and what it made
        (``made``, innermost first); what was there before is left alone."""
        self.config_path.unlink(missing_ok=True)
        for p in made:
            if p == self.results_path:
                p.unlink(missing_ok=True)
            elif p.parent == self.path and p != self.results_path:  # staging/, episodes/
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    p.rmdir()  # only when empty
                except OSError:
                    break

    def _write_config(self, config: dict[str, Any]) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2) + "\n")
        os.replace(tmp, self.config_path)

    def results(self, repair: bool = False) -> list[dict[str, Any]]:
        """Finished episodes, first line per key wins; ``repair`` cuts a torn last line off the file."""
        if not self.results_path.exists():
            return []
        raw = self.results_path.read_bytes()
        good_end = raw.rfind(b"\n") + 1
        if repair and good_end != len(raw):
            with open(self.results_path, "r+b") as f:
                f.truncate(good_end)
        out, seen = [], set()
        for line in raw[:good_end].splitlines():
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if r.get("key") in seen:
                continue
            seen.add(r.get("key"))
            out.append(r)
        return out

    def done_keys(self) -> set[str]:
        return {r["key"] for r in self.results(repair=True)}

    def episode_dir(self, key: str) -> Path:
        return self.path / "episodes" / key

    def staging_dir(self, key: str) -> Path:
        """Where a running episode writes; cleared first (a previous attempt may have been killed)."""
        d = self.path / "staging" / key.replace("/", "_")
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d

    def commit(self, result: dict[str, Any], staged: Path | None) -> None:
        """Move the episode's files in place, then append its result line (the commit point)."""
        if staged is not None and staged.exists():
            final = self.episode_dir(result["key"])
            shutil.rmtree(final, ignore_errors=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
        line = (json.dumps(result, sort_keys=True) + "\n").encode()
        fd = os.open(self.results_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        tmp = self.path / "metrics.json.tmp"
        tmp.write_text(json.dumps(metrics, indent=2) + "\n")
        os.replace(tmp, self.path / "metrics.json")
