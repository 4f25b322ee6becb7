"""Validation: schema, geometry, solvability and shortcuts, reported together (docs/scene-format.md).

``validate(src)`` never raises for a bad spec: it returns a :class:`Report` whose ``problems``
are ``(kind, path, message)`` with kind one of ``schema``, ``geometry``, ``clue`` (a code
lock whose readable clues give another code, see :mod:`embodied.clues`), ``unsolvable``,
``shortcut``; ``ok`` is True when there are none. The same solver drives the oracle and the
generators, so "valid" means "the oracle can do it".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .clues import check_clues
from .errors import SpecError
from .landmarks import Landmarks
from .layout import build_layout
from .nav import NavConfig
from .reach import goal_reachable
from .solver import Verdict, solve
from .spec import Spec, load_spec
from .world import World


@dataclass
class Report:
    spec: Spec | None
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    verdict: Verdict | None = None
    nav: NavConfig = field(default_factory=NavConfig)  # the moves and turns the plan was walked with

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.ok:
            v, n = self.verdict, self.nav
            return [
                f"valid: {self.spec.name} is solvable in {v.length} actions ({v.states} states searched; "
                f"walked with {n.rotate:g}° turns and {n.step:g} m moves)",
                *[f"  {i + 1}. {s}" for i, s in enumerate(v.plan)],
            ]
        return [f"{kind}: {path + ': ' if path else ''}{msg}" for kind, path, msg in self.problems]


def validate(
    src: Any,
    max_states: int = 200_000,
    walk: bool = True,
    time_limit: float | None = 10.0,
    fast: bool = True,
    nav: NavConfig | None = None,
) -> Report:
    """Check ``src`` (anything :func:`load_spec` takes); ``walk=False`` skips the physical plan walk
    (for callers that replay the plan in the engine anyway, which checks strictly more);
    ``time_limit`` bounds each search in seconds (None: only ``max_states``, so the verdict does
    not depend on the machine's load, as generators need).

    ``fast`` uses the scene's landmarks (:mod:`embodied.landmarks`): a required lock whose
    unlocking every plan needs is proven unskippable without a search, and (with ``walk=False``)
    the optimal plan is searched best first. The problems and the plan's length are those of
    ``fast=False`` (the breadth-first searches); the plan may order its steps differently (with
    ``walk=True`` it is the breadth-first plan, the one walked).

    ``nav`` is the agent's movement (``Env(nav=)``: move length, turn size, field of view); the
    default is :class:`~embodied.nav.NavConfig`'s (0.25 m moves, 90° turns). A scene can be
    walkable with one and not with another, so validate with the one the env will use."""
    nav = nav or NavConfig()
    try:
        spec = load_spec(src)
    except SpecError as e:
        return Report(None, [("schema", p, m) for p, m in e.problems])
    report = Report(spec, nav=nav)
    layout = build_layout(spec)
    report.problems += [("geometry", p, m) for p, m in layout.errors]
    report.problems += [("clue", p, m) for p, m in check_clues(spec)]
    base = World(spec, nav, layout=layout)  # one world (and layout) for every search below
    marks = Landmarks(base) if fast else None  # facts every plan needs: guide the search, prove locks needed
    # (the walk checks the breadth-first plan itself: another optimal order might walk differently)
    guide = marks if marks is not None and not walk else False
    verdict = solve(spec, max_states=max_states, time_limit=time_limit, world=base, guided=guide)
    report.verdict = verdict
    if not verdict.solvable:
        report.problems.append(("unsolvable", "goal", verdict.reason))
        return report
    if walk:
        report.problems += [("geometry", path, msg) for path, msg in walk_plan(spec, verdict, nav)]
    for i, r in enumerate(spec.required):
        if marks is not None and marks.has_unlock(r):  # every plan unlocks r: proven from the structure
            continue
        if goal_reachable(spec, frozenset([r]), world=base) is False:  # exact for monotone scenes, and fast
            continue
        alt = solve(
            spec, max_states=max_states, forbid_unlock=frozenset([r]), time_limit=time_limit, world=base
        )
        if alt.solvable:
            steps = "; ".join(str(s).split(": ", 1)[1] for s in alt.plan)
            report.problems.append(
                ("shortcut", f"required[{i}]", f"the goal is reachable without unlocking {r!r}: {steps}")
            )
    return report


def walk_plan(spec: Spec, verdict: Verdict, nav: NavConfig | None = None) -> list[tuple[str, str]]:
    """Replay the plan with real walking and the real interaction rule (no engine needed), moving
    and turning as ``nav`` says (default: 0.25 m moves, 90° turns): a solvable puzzle can still
    be physically impossible (a note behind furniture, a blocked door)."""
    from .actions import Action
    from .nav import MAX_CELLS, MAX_NODES, search_gave_up
    from .planning import expand_step
    from .rules import apply
    from .world import World

    w = World(spec, nav)
    for i, step in enumerate(verdict.plan):
        moves = expand_step(w, step.agent, step)
        if moves is None:
            a = w.agent(step.agent)
            where = f"from ({a['x']:.2f}, {a['y']:.2f}) in {a['room']}"
            what = f"{step.agent} cannot physically do {step.verb}({', '.join(step.args)})"
            if search_gave_up():  # not proven impossible: the layout is too large for the search
                why = (
                    f"{what} {where}: the path planner gave up ({MAX_NODES:,} poses, {MAX_CELLS:,} floor "
                    "positions; rooms up to 100 m a side fit, a layout of many is too large for it)"
                )
            else:
                why = f"{what}: no walkable path {where} to where it can be done"
            return [(f"plan[{i}]", why)]
        for m in moves:
            r = apply(w, step.agent, m if isinstance(m, Action) else Action(m))
            if not r.success:
                return [
                    (
                        f"plan[{i}]",
                        f"{step.agent}: {m} failed while doing {step.verb}({', '.join(step.args)}): {r.message}",
                    )
                ]
    if not w.goal_reached():
        return [("goal", "the plan, walked for real, does not reach the goal")]
    return []
