"""Benchmark suites as data: ``tasks/<suite>.yaml`` plus a frozen ``tasks/<suite>.lock.json``.

A suite YAML names a seeded scene builder (``module:function``, called as
``builder(rng, **tier.params)``) or, for imported and generated suites, a ``source`` that
produces scenes; its tiers of rising difficulty; how many seeds per tier; and the step budget
rule. ``version`` is bumped whenever the episodes change; every result line carries it.

The lock file freezes what a run must reproduce: per episode (``tier/seed``) the scene's hash,
the oracle's step count (the shortest known path, SPL's ``L*``) and the step budget; for
generated suites the scenes themselves. ``embodied bench freeze SUITE`` writes it. A run
refuses an episode whose scene hash differs from the lock (the builder changed without a
version bump), so two labs running version N run the same episodes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import random
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .. import yamlio
from ..errors import ConfigError, SpecError
from ..spec import Spec, load_spec
from .budget import budget as budget_rule
from .budget import oracle_steps


class SuiteError(ConfigError):
    """A suite is unknown, unavailable, or its data is inconsistent."""


@dataclass(frozen=True)
class Episode:
    """One benchmark episode: a scene of a suite's tier, built from a seed."""

    suite: str
    version: int
    tier: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.suite}/{self.tier}/{self.seed}"


@dataclass
class Tier:
    tier: str
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    max_steps: int | None = None  # a source's own step cap (overrides the budget rule)


def spec_hash(spec: Spec) -> str:
    """A short, stable hash of a scene (its canonical JSON)."""
    text = json.dumps(spec.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Suite:
    name: str
    version: int
    description: str
    tiers: list[Tier]
    builder: str | None = None
    source: str | None = None  # "module:function" giving (available, reason) and scenes
    budget: dict[str, float] = field(default_factory=lambda: {"factor": 3, "slack": 20})
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    # -------------------------------------------------------------- data
    @property
    def definition_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def lock_path(self) -> Path | None:
        return self.path.with_name(self.path.stem + ".lock.json") if self.path else None

    def lock(self) -> dict[str, Any]:
        """The frozen episodes (empty when not frozen yet)."""
        return _read_lock(str(self.lock_path)) if self.lock_path else {}

    def availability(self) -> tuple[bool, str]:
        """(available, reason when not)."""
        if self.source:
            module, fn = self.source.split(":")
            try:
                check = getattr(importlib.import_module(module), fn + "_available")
            except (ImportError, AttributeError) as e:
                return False, f"its source {self.source} is not installed ({e})"
            return check(self)
        if self.builder:
            try:
                self._builder()
            except SuiteError as e:
                return False, str(e)
        return True, ""

    def _builder(self):
        """The ``builder`` function; SuiteError (one line) when it cannot be imported."""
        from .agents import import_from_cwd

        module, _, fn = str(self.builder).partition(":")
        try:
            return getattr(import_from_cwd(module), fn)
        except (ImportError, AttributeError, ValueError) as e:
            raise SuiteError(
                f"its builder {self.builder} cannot be loaded ({e}); give an importable "
                "'package.module:function'"
            ) from None
        except Exception as e:  # its module fails to import (a SyntaxError, an error at import)
            raise SuiteError(
                f"its builder {self.builder} cannot be loaded: importing {module} raised "
                f"{type(e).__name__}: {e}"
            ) from None

    def tier(self, name: str) -> Tier:
        for t in self.tiers:
            if t.tier == str(name):
                return t
        raise SuiteError(
            f"suite {self.name} has no tier {name!r}; tiers: {', '.join(t.tier for t in self.tiers)}"
        )

    def episodes(
        self, tiers: list[str] | None = None, episodes: int | None = None, seeds: list[int] | None = None
    ) -> list[Episode]:
        """The episodes of the chosen tiers (all by default): the first ``episodes`` seeds of each,
        or exactly ``seeds``, which must be seeds of the suite: a seed outside it is not an episode
        of this suite and version (it has no frozen hash or budget), so it is refused (SuiteError)
        rather than run unchecked under the suite's name."""
        chosen = [self.tier(t) for t in tiers] if tiers else self.tiers
        out = []
        for t in chosen:
            if seeds is not None and any(s not in t.seeds for s in seeds):
                self._foreign_seeds(t, [s for s in seeds if s not in t.seeds])
            ss = list(seeds) if seeds is not None else t.seeds[: episodes or None]
            out += [Episode(self.name, self.version, t.tier, s) for s in ss]
        return out

    def _foreign_seeds(self, t: Tier, bad: list[int]):
        where = str(self.path) if self.path else "its suite YAML"
        frozen = ", frozen in its lock file" if self.lock_status() == "frozen" else ""
        having = [x.tier for x in self.tiers if all(s in x.seeds for s in bad)]
        if having:  # e.g. ESC-MM's tier 3 has more layouts than tier 1
            fix = f"add --tiers {','.join(having)}, or pick among those"
        elif self.source:  # imported or generated episodes: there are no others
            fix = "pick among those"
        else:
            fix = (
                f"pick among those, or run other seeds as your own suite: copy {where} under a new "
                "'suite:' name with 'seeds: [...]' and give its path to --suite (see docs/benchmark.md)"
            )
        raise SuiteError(
            f"--seeds {seed_ranges(bad)}: not episodes of {self.name} v{self.version} tier {t.tier} "
            f"(its seeds are {seed_ranges(t.seeds)}{frozen}); {fix}"
        )

    # -------------------------------------------------------------- scenes
    def spec(self, tier: str, seed: int) -> Spec:
        """The scene of one episode."""
        t = self.tier(tier)
        frozen = self.lock().get("episodes", {}).get(f"{t.tier}/{seed}", {})
        if "spec" in frozen:
            return load_spec(frozen["spec"])
        if self.source:
            module, fn = self.source.split(":")
            return load_spec(getattr(importlib.import_module(module), fn)(self, t, seed))
        if not self.builder:
            raise SuiteError(f"suite {self.name} has neither a builder nor a source")
        data = self._builder()(random.Random(seed), **t.params)
        data.setdefault("seed", seed)
        data["name"] = f"{self.name.lower()}_t{t.tier}_s{seed}"
        try:
            return load_spec(data)
        except SpecError as e:
            raise SuiteError(f"suite {self.name} tier {t.tier} seed {seed}: {e}") from None

    def frozen(self, tier: str, seed: int) -> dict[str, Any] | None:
        return self.lock().get("episodes", {}).get(f"{tier}/{seed}")

    def plan(self, tier: str, seed: int, spec: Spec | None = None) -> dict[str, Any]:
        """``{"hash", "optimal", "budget"}`` for an episode: from the lock, else computed now."""
        spec = spec or self.spec(tier, seed)
        h = spec_hash(spec)
        frozen = self.frozen(tier, seed)
        if frozen and self.lock().get("version") == self.version:
            if frozen["hash"] != h:
                raise SuiteError(
                    f"{self.name} v{self.version} tier {tier} seed {seed}: the scene's hash {h} differs from the "
                    f"frozen {frozen['hash']}; bump the suite's version and run 'embodied bench freeze {self.name}'"
                )
            return {"hash": h, "optimal": frozen["optimal"], "budget": frozen["budget"]}
        optimal = oracle_steps(spec)
        return {"hash": h, "optimal": optimal, "budget": self.budget_for(tier, spec, optimal)}

    def budget_for(self, tier: str, spec: Spec, optimal: int) -> int:
        """An episode's step budget: its tier's ``max_steps``, else the scene's own ``max_steps``
        with ``budget: {scene: true}`` (an importer's cap), else the rule (``factor`` x the
        oracle's steps + ``slack``)."""
        cap = self.tier(tier).max_steps
        if cap:
            return cap
        if self.budget.get("scene"):
            return spec.max_steps
        return budget_rule(optimal, **{k: v for k, v in self.budget.items() if k in ("factor", "slack")})

    def freeze(self, progress=None, make_spec=None) -> dict[str, Any]:
        """Compute every episode's hash, oracle steps and budget, and write the lock file.

        ``make_spec(episode) -> Spec | None`` makes the scenes of a generated suite (kept in the
        lock); an episode it cannot make (None) is left out and the suite stays unavailable. When
        ``make_spec`` raises (an endpoint that went down, Ctrl-C), the scenes made so far are
        written with the ones frozen before, then the error goes on: a second freeze makes only
        the rest."""
        old = self.lock() if self.lock().get("version") == self.version else {}
        eps: dict[str, Any] = {}
        made = 0
        try:
            for ep in self.episodes():
                key = f"{ep.tier}/{ep.seed}"
                kept = old.get("episodes", {}).get(key, {})
                if make_spec is not None and "spec" not in kept:
                    spec = make_spec(ep)
                    if spec is None:
                        if progress:
                            progress(ep)
                        continue
                    kept = {"spec": spec.to_json()}
                    made += 1
                    eps[key] = kept  # kept if the oracle below is interrupted
                spec = load_spec(kept["spec"]) if "spec" in kept else self.spec(ep.tier, ep.seed)
                optimal = oracle_steps(spec)
                eps[key] = {
                    "hash": spec_hash(spec),
                    "optimal": optimal,
                    "budget": self.budget_for(ep.tier, spec, optimal),
                }
                if "spec" in kept:
                    eps[key]["spec"] = kept["spec"]
                if progress:
                    progress(ep)
        except BaseException:
            if made:  # nothing lost: this run's scenes and every earlier one
                rest = {k: v for k, v in old.get("episodes", {}).items() if k not in eps}
                self._write_lock({**rest, **eps})
            raise
        return self._write_lock(eps)

    def _write_lock(self, eps: dict[str, Any]) -> dict[str, Any]:
        data = {
            "suite": self.name,
            "version": self.version,
            "definition": self.definition_hash,
            "episodes": eps,
        }
        self.lock_path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        _read_lock.cache_clear()
        return data

    def lock_status(self) -> str:
        lk = self.lock()
        if not lk:
            return "not frozen"
        if lk.get("version") != self.version or lk.get("definition") != self.definition_hash:
            return "stale lock"
        return "frozen"


def seed_ranges(seeds: list[int]) -> str:
    """``0-9,12`` for [0, 1, ..., 9, 12] (sorted, runs of consecutive seeds as ranges)."""
    out: list[tuple[int, int]] = []
    for s in sorted(set(seeds)):
        if out and s == out[-1][1] + 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in out)


@cache
def _read_lock(path: str) -> dict[str, Any]:
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else {}


def read_suite_file(path: Path) -> Any:
    """A suite file's YAML; SuiteError (one line, where and why) when it does not parse."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SuiteError(
            f"{path}: not valid YAML {yamlio.error_text(e)}; see docs/benchmark.md for a suite file"
        ) from None


def parse_suite(data: dict[str, Any], path: Path | None = None) -> Suite:
    where = str(path or "suite")
    if not isinstance(data, dict):
        raise SuiteError(
            f"{where}: a suite file is a mapping with suite, version and tiers (docs/benchmark.md)"
        )
    for k in ("suite", "version", "tiers"):
        if k not in data:
            raise SuiteError(f"{where}: missing {k!r}")
    if not isinstance(data["version"], int):
        raise SuiteError(f"{where}: 'version' must be a whole number like 1, got {data['version']!r}")
    if not (
        isinstance(data["tiers"], list) and data["tiers"] and all(isinstance(t, dict) for t in data["tiers"])
    ):
        raise SuiteError(f"{where}: 'tiers' must be a list of mappings like {{tier: \"1\", params: {{...}}}}")
    top = data.get("seeds", 10)  # a count (seeds 0..N-1) or a list of seeds, for every tier
    if not (isinstance(top, int) or (isinstance(top, list) and all(isinstance(x, int) for x in top))):
        raise SuiteError(f"{where}: 'seeds' must be a count like 10 or a list like [99, 100], got {top!r}")
    n_seeds = top if isinstance(top, int) else len(top)
    tiers = []
    for i, t in enumerate(data["tiers"]):
        if "tier" not in t:
            raise SuiteError(f"{where}: tiers[{i}] has no 'tier' name")
        params = dict(t.get("params", {}))
        if "prompts" in t:  # a generated suite: one episode per prompt
            params["prompts"] = list(t["prompts"])
        seeds = t.get("seeds", list(range(len(t["prompts"]) if "prompts" in t else n_seeds)))
        if "seeds" not in t and isinstance(top, list) and "prompts" not in t:
            seeds = top
        if isinstance(seeds, int):
            seeds = list(range(seeds))
        tiers.append(
            Tier(
                str(t["tier"]),
                t.get("description", ""),
                params,
                list(seeds),
                t.get("max_steps"),
            )
        )
    return Suite(
        name=str(data["suite"]).upper(),
        version=int(data["version"]),
        description=data.get("description", ""),
        tiers=tiers,
        builder=data.get("builder"),
        source=data.get("source"),
        budget=dict(data.get("budget", {"factor": 3, "slack": 20})),
        path=path,
        raw=data,
    )


def suite_dirs() -> list[Path]:
    return [Path(str(resources.files("embodied.tasks_data")))]


def load_suites() -> dict[str, Suite]:
    """Every suite shipped in ``tasks/``, by upper-case name."""
    out: dict[str, Suite] = {}
    for d in suite_dirs():
        for p in sorted(d.glob("*.yaml")):
            s = parse_suite(read_suite_file(p), p)
            out[s.name] = s
    return out


def get_suite(name: str) -> Suite:
    suites = load_suites()
    if name.upper() not in suites:
        if Path(name).suffix in (".yaml", ".yml") and Path(name).exists():
            return parse_suite(read_suite_file(Path(name)), Path(name))
        raise SuiteError(f"unknown suite {name!r}; suites: {', '.join(suites)} (or a path to a suite .yaml)")
    return suites[name.upper()]
