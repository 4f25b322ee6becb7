"""The env: first-person observations, canonical actions, Gymnasium-style returns (docs/architecture.md).

``Env.step(action)`` takes a canonical :class:`~embodied.actions.Action`, a canonical string
(``"Open(chest)"``), an action id (an index into ``info["allowed_actions"]``), a dict
(``{"action": "OpenObject", "objectId": "chest"}``), or free text; it never raises for a bad
action: ``info["lastActionSuccess"]`` is False and ``info["errorMessage"]`` says why.

Returns ``obs, reward, terminated, truncated, info``:

- ``obs["rgb"]``: H×W×3 uint8, row 0 at the top; ``obs["depth"]`` H×W float32 meters and
  ``obs["segmentation"]`` H×W int32 (ids → names in ``info["segmentation_ids"]``) when requested;
  ``obs["text"]``: feedback and what was read or heard this step.
- ``terminated``: the goal is reached, or the agent said ``Done``; ``truncated``: step budget spent.
- ``info``: ``lastActionSuccess``, ``errorMessage``, ``action`` (canonical string), ``allowed_actions``
  (numbered list of canonical strings), ``inventory``, ``progress`` (0..1, checkpoints reached),
  ``success``, ``agent`` (pose and room), ``objects`` (per object: id, type, position, visible,
  interactable, distance, state), ``step``.
"""

from __future__ import annotations

import logging
import math
import operator
import time
import weakref
from collections.abc import Callable, Sequence
from functools import partial
from itertools import compress
from typing import Any

import numpy as np

from .actions import MAX_INPUT_CHARS, Action, ActionError, from_mapping, parse_canonical
from .engine import EngineClient, launch
from .errors import (
    ConfigError,
    EngineError,
    EngineHung,
    EngineTimeout,
    EnvClosedError,
    EpisodeEndedError,
    ProtocolError,
    StateError,
    StepRolledBack,
)
from .lazyinfo import LazyInfo
from .nav import NavConfig, bearing_to
from .planning import checkpoints_from_plan, path_to_interact
from .quoting import brief
from .rules import Result, apply, offered_actions
from .scene_graph import SceneGraph
from .solver import Verdict, solve
from .spec import Spec
from .tasks import Task, make_task
from .world import POSE, World

log = logging.getLogger("embodied.env")
MODALITIES = ("rgb", "depth", "segmentation")
SKY = (0.62, 0.76, 0.92)
_WIRE = {"rgb": "rgb", "depth": "depth", "segmentation": "seg"}
_WIRE_OF: dict[tuple[str, ...], tuple] = {}  # modalities -> _wire(modalities)
# A step whose actions never got past their checks to an effect (World.touch: navigation,
# Done/Pass, and every action that failed) changed nothing but poses: visibility then depends on
# the pose alone, and goal predicates only on the rooms (the lean step skips what cannot change).
_POSE_KEYS = ("x", "y", "yaw", "horizon", "room", "exited")  # what navigation changes in an agent
_POSE = operator.itemgetter(*_POSE_KEYS)
_ROOM = operator.itemgetter("room", "exited")
_XY_YAW_HORIZON = operator.itemgetter("x", "y", "yaw", "horizon")  # what an agent's camera pose is made of
_PARSED: dict[str, Action] = {}  # canonical action strings parsed before
VIS_CACHE = 4096  # poses whose visibility a table keeps
VIS_TABLES = 8  # visibility tables kept (one per agent and state of the things and doors)


class _VisTable:
    """Visibility for one agent, one :meth:`World.visibility_basis` and one set of open doors (all
    it depends on besides the pose and the static walls): per pose, what the agent sees; per
    standing point and thing, line of sight; per ``(x, y, yaw)``, what is within the horizontal
    field of view (:meth:`World.visible_all`). An env keeps a few, so a state seen before (the
    start of every episode) finds its table again."""

    __slots__ = ("basis", "poses", "sight", "views")

    def __init__(self, basis: dict[str, Any]):
        self.basis = basis
        self.poses: dict[tuple, dict[str, bool]] = {}  # (x, y, yaw, horizon) -> visibility
        self.sight: dict[tuple, bool] = {}  # (x, y, thing) -> line of sight
        self.views: dict[tuple, tuple] = {}  # (x, y, yaw) -> World.visible_all's view


class _VisCache:
    """What the lean step knows of visibility while only poses change: each agent's table."""

    __slots__ = ("poses", "sight", "tables")

    def __init__(self):
        self.tables: dict[str, _VisTable] = {}  # agent -> its table for the current state
        self.poses: dict[tuple, dict[str, bool]] = {}  # abstract worlds: (agent, pose) -> visibility
        self.sight: dict[tuple, bool] = {}  # abstract worlds: World.visible's cache


class Env:
    """One scene, one or more agents, one engine connection.

    Args:
        scene: a registered task name (``"escape/key-door"``), a :class:`~embodied.tasks.Task`, or a spec
            (path, shipped scene name, dict or :class:`Spec`).
        engine: engine name for :func:`embodied.launch` (``"panda3d"``: an engine process;
            ``"inprocess"``: the renderer in this process, docs/performance.md), or a connected
            :class:`EngineClient` to share.
        width, height: frame size in pixels.
        fov: horizontal field of view, degrees (default 90, or ``nav.fov`` when ``nav`` is given;
            giving both with different values is an error).
        seed: seeds a task's scene generator and is recorded with the episode.
        modalities: any of ``rgb``, ``depth``, ``segmentation`` rendered each step (override per step).
        high_level: also list ``NavigateTo(object)`` for objects seen before.
        max_steps: step budget; default from the spec, else 30 x the optimal plan length (at least 200).
        agent: the agent ``step`` controls (default: the first in the spec).
        nav: step sizes, turn angles, reach, agent radius (:class:`~embodied.nav.NavConfig`).
        allowed_actions: ``"visible"`` (default) lists interactions with everything in view, in reach
            or not, so the list does not leak what is interactable; ``"interactable"`` lists only
            those that can be done from where the agent stands.
        renderer: ``software``, ``gl`` or ``auto`` for an engine this env launches.
        appearance_seed: None (default) or an int: randomised looks, seeded (colours within their
            named family, texture variants, lights, small furniture yaw; docs/rendering.md).

    Errors: a bad argument raises :class:`~embodied.errors.ConfigError`, a bad scene
    :class:`~embodied.errors.SpecError`; ``step`` after the episode ended raises
    :class:`~embodied.errors.EpisodeEndedError` (call ``reset``), any call after ``close``
    :class:`~embodied.errors.EnvClosedError`. A bad *action* never raises (see ``step``).
    """

    ALLOWED_MODES = ("visible", "interactable")

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        scene: Any,
        engine: str | EngineClient = "panda3d",
        width: int = 224,
        height: int = 224,
        fov: float | None = None,
        seed: int | None = None,
        modalities: Sequence[str] = ("rgb",),
        high_level: bool = False,
        max_steps: int | None = None,
        agent: str | None = None,
        nav: NavConfig | None = None,
        renderer: str = "software",
        engine_timeout: float = 30.0,
        allowed_actions: str = "visible",
        appearance_seed: int | None = None,
    ):
        self.engine = None  # set last: close() is safe whatever fails below
        if isinstance(modalities, str):
            modalities = (modalities,)
        bad = [m for m in modalities if m not in MODALITIES]
        if bad or not modalities:
            raise ConfigError(f"unknown modalities {bad or '(none)'}; choose from {MODALITIES}")
        if allowed_actions not in self.ALLOWED_MODES:
            raise ConfigError(f"allowed_actions={allowed_actions!r}; choose from {self.ALLOWED_MODES}")
        for name, v in (("width", width), ("height", height)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 1 <= v <= 8192:
                raise ConfigError(f"{name} must be a whole number of pixels in 1..8192, got {v!r}")
        if nav is not None and fov is not None and float(fov) != nav.fov:
            raise ConfigError(
                f"fov={fov} conflicts with nav.fov={nav.fov}; give the field of view once (fov= or NavConfig(fov=))"
            )
        if fov is not None and not 1 <= float(fov) < 180:
            raise ConfigError(f"fov must be in 1..179 degrees, got {fov}")
        seed, appearance_seed = _seed("seed", seed), _seed("appearance_seed", appearance_seed)
        if max_steps is not None and (_seed("max_steps", max_steps) or 0) < 1:  # -1 was accepted
            raise ConfigError(f"max_steps must be at least 1 (or None: the task's budget), got {max_steps!r}")
        self.task: Task = make_task(scene)
        self._default_reward = type(self.task).reward is Task.reward  # (Task.reward gives the default back)
        self.width, self.height = int(width), int(height)
        self.nav = nav if nav is not None else NavConfig(fov=float(fov) if fov is not None else 90.0)
        self.allowed_mode = allowed_actions
        self.modalities = tuple(modalities)
        self.high_level = high_level
        self.seed = seed
        self.appearance_seed = appearance_seed
        self._max_steps_arg = max_steps
        self._agent_arg = agent
        self._setup(self.task.spec(seed))
        self._own_engine = not isinstance(engine, EngineClient)
        self.renderer = renderer
        self._launch_args = (
            dict(engine=engine, renderer=renderer, timeout=engine_timeout) if self._own_engine else None
        )
        self.engine_restarts = 0  # engines restarted over this env's life
        self.engine_faults = {"crash": 0, "hang": 0, "timeout": 0}  # what caused them
        self._episode_restarts = 0
        self._reached: set[int] = set()
        self._done = False
        self._ended = False  # terminated or truncated: step needs a reset first
        self._closed = False
        self.engine: EngineClient = launch(**self._launch_args) if self._own_engine else engine
        self.scene = self.engine.scene()  # this env's own scene on the (possibly shared) engine
        self._vis: dict[str, dict[str, bool]] = {}
        self._vis_cache = _VisCache()  # valid until something but a pose changes
        self._success = False  # goal_reached() of the current state (kept across pose-only steps)
        self._sent_agents: dict[str, dict] = {}  # avatar updates the engine shows already
        self._open_infos: list[weakref.ref] = []  # infos of the last step with entries not yet computed
        # sends a render request, returns a function that waits for the frames (a vector env batches)
        self.render_hook: Callable[..., Callable[[], dict]] | None = None
        self.last_obs: dict[str, Any] | None = None

    def _setup(self, spec: Spec) -> None:
        """(Re)build everything that depends on the scene; the engine reloads it on the next reset."""
        self.spec = spec
        self.world = World(self.spec, self.nav, aspect=self.width / self.height)
        self.world.free_cache = {}  # (the env keeps it true: it sees every change, see World.touch)
        self.agent_id = self._agent_arg or self.world.agent_ids[0]
        if self.agent_id not in self.world.agent_ids:
            raise ConfigError(f"unknown agent {self._agent_arg!r}; agents: {self.world.agent_ids}")
        self.verdict: Verdict = solve(self.spec, time_limit=None)  # no clock: budgets must not depend on load
        self.checkpoints = self.spec.checkpoints or checkpoints_from_plan(self.verdict.plan, self.world)
        self.max_steps = (
            self._max_steps_arg or self.spec.max_steps or max(200, 30 * max(1, self.verdict.length))
        )
        self.graph = SceneGraph(self.world, appearance_seed=getattr(self, "appearance_seed", None))
        self._vis_tables: dict[tuple, _VisTable] = {}  # (agent, doors open, basis) -> its table
        # the scene the posers are of, and per modalities (wire names) its poser for this world's
        # agents (see _poser)
        self._posers: tuple[Any, dict[tuple, Callable | None]] = (None, {})
        self._loaded = False
        self._forget()

    def _forget(self) -> None:
        """Drop what the lean step keeps between steps (the world changed other than by moving)."""
        self._vis = {}
        self._vis_cache = _VisCache()
        self._sent_agents = {}

    # ------------------------------------------------------------ lifecycle
    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, info = self.reset_all(seed, options)
        return obs[self.agent_id], info[self.agent_id]

    def reset_all(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Like :meth:`reset`, for every agent: ``({agent: obs}, {agent: info})``."""
        self._check_open("reset")
        seed = _seed("seed", seed)
        self._seal_infos(materialize=seed is not None and self.task.seeded and seed != self.seed)
        if seed is not None:
            if self.task.seeded and seed != self.seed:
                self._setup(self.task.spec(seed))
            self.seed = seed
        self.world.reset_state()
        self._reached, self._done, self._ended = set(), False, False
        self._episode_restarts = 0
        self._forget()
        if not self._loaded:
            self.scene.load(self.graph.build_nodes(), name=self.spec.name, background=SKY)
            self._loaded = True
        else:
            self.world.mark_changed()
        self._mark_seen()
        self._update_progress()
        return self._look()

    def close(self) -> None:
        """Free this env's scene on the engine, and stop the engine if this env started it."""
        self._closed = True
        if self.engine is None:
            return
        if self._own_engine:
            self.engine.close()
        else:
            try:
                self.scene.close(timeout=5.0)
            except EngineError as e:  # a shared engine that is gone or busy: nothing to free
                log.warning("could not free scene %s on %s: %s", self.scene.handle, self.engine.endpoint, e)
        self.engine = None

    def _check_open(self, what: str) -> None:
        if getattr(self, "_closed", False):
            raise EnvClosedError(f"{what}() on a closed env; make a new one with embodied.make(...)")

    def __enter__(self) -> Env:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get_state(self) -> dict[str, Any]:
        """The full world state plus episode bookkeeping; ``set_state`` restores it exactly."""
        return {"world": self.world.get_state(), "reached": sorted(self._reached), "done": self._done}

    def set_state(self, state: dict[str, Any]) -> tuple[dict, dict]:
        """Restore a :meth:`get_state` (also after a JSON round trip); returns (obs, info).

        A state of another scene, or a malformed one, raises :class:`~embodied.errors.StateError`
        and leaves the env as it was."""
        self._check_open("set_state")
        if not isinstance(state, dict) or not {"world", "reached", "done"} <= set(state):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise StateError(f"expected the dict get_state() returns (keys world, reached, done), got {got}")
        reached = state["reached"]
        if not isinstance(reached, list) or not all(
            isinstance(i, int) and 0 <= i < len(self.checkpoints) for i in reached
        ):
            raise StateError(
                f"'reached' must list checkpoint indices below {len(self.checkpoints)}, got {brief(reached)}"
            )
        if not isinstance(state["done"], bool):
            raise StateError(f"'done' must be true or false, got {brief(state['done'])}")
        self._seal_infos()
        self.world.set_state(state["world"])
        self._forget()
        self._reached, self._done = set(reached), state["done"]
        self._success = self.world.goal_reached()
        self._ended = self._done or self._success or self.world.state["step"] >= self.max_steps
        obs, info = self._look()
        return obs[self.agent_id], info[self.agent_id]

    def _look(self) -> tuple[dict, dict]:
        """Every agent's observation and info of the current state, with no action taken."""
        none = {aid: Result(True, "") for aid in self.world.agent_ids}
        obs = self._observe(none, self.modalities)()
        return obs, {aid: self._info(aid, none[aid], None) for aid in self.world.agent_ids}

    # ------------------------------------------------------------ stepping
    def step(self, action: Any, modalities: Sequence[str] | None = None):
        obs, rew, term, trunc, info = self.step_all({self.agent_id: action}, modalities)
        return obs[self.agent_id], rew[self.agent_id], term, trunc, info[self.agent_id]

    def step_all(self, actions: dict[str, Any], modalities: Sequence[str] | None = None):
        """Step several agents at once (in agent order); one render round trip for all of them.

        Atomic: the step either completes (an engine that this env launched and that crashed or
        hung is restarted and the frame rendered from the committed state), or it raises
        :class:`~embodied.errors.StepRolledBack` and the world is exactly as before the call, so
        the same actions may be sent again."""
        undo, modalities = self._arm(actions, modalities)
        try:  # (the parts of :meth:`stepper`, called in a row: no generator to drive)
            acted = self._act(actions, modalities)
            result = self._finish(acted, self._judge(acted))
        except BaseException as exc:
            self._roll_back(undo, exc)
            raise
        self.world.take_undo()  # (disarmed: the step stands)
        return result

    def stepper(self, actions: dict[str, Any], modalities: Sequence[str] | None = None):
        """:meth:`step_all` as a generator, in three parts: the first ``next`` applies the actions
        and hands the render request to the engine (or to ``render_hook``); the second computes
        progress, reward and info while the engine renders (and gives ``rewards, terminated,
        truncated, infos``, as the step will return them); the third waits for the frames and
        stops with ``step_all``'s result (``StopIteration.value``). A vector env runs each part for
        all its envs in turn, so one render request per engine serves them all (embodied.vector).
        Atomic like ``step_all``; a stepper closed before the end rolls its step back."""
        undo, modalities = self._arm(actions, modalities)
        try:
            acted = self._act(actions, modalities)
            yield
            judged = self._judge(acted)
            yield judged
            result = self._finish(acted, judged)
        except BaseException as exc:
            self._roll_back(undo, exc)
            raise
        self.world.take_undo()  # (disarmed: the step stands)
        return result

    def _arm(self, actions: dict[str, Any], modalities: Sequence[str] | None) -> tuple[tuple, tuple | None]:
        """A step's checks and its undo point: poses here (cheap), the rest of the state
        snapshotted by the world only if an action is about to change more than poses
        (World.touch, which also fills :meth:`World.base` for infos of earlier steps still
        waiting for entries). Returns what :meth:`_roll_back` needs, and the modalities asked for
        as a tuple (None: the env's)."""
        if self._closed:
            self._check_open("step")
        if self._ended:
            raise EpisodeEndedError(
                f"step() after the episode ended (step {self.world.state['step']}); call reset() first"
            )
        w = self.world
        agents = w.state["agents"]
        for aid in actions:
            if aid not in agents:
                unknown = [a for a in actions if a not in agents]
                raise ConfigError(f"actions for unknown agents {unknown}; agents: {w.agent_ids}")
        if modalities is not None:
            modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
            bad = [m for m in modalities if m not in MODALITIES]
            if bad:
                raise ConfigError(f"unknown modalities {bad}; choose from {MODALITIES}")
        w.arm_undo()
        poses = _poses(w)
        for ref in self._open_infos:  # (an RL loop dropped them: nothing to seal, no call)
            if ref() is not None:
                self._seal_infos(poses=poses)
                break
        else:
            self._open_infos = []
        # (_reached is replaced, never changed in place: the undo point keeps the set itself)
        return (poses, self._reached, self._done, self._ended, self._success), modalities

    def _roll_back(self, undo: tuple, exc: BaseException) -> None:
        """Put the world back as :meth:`_arm` found it (the step failed with ``exc``); raises
        :class:`~embodied.errors.StepRolledBack` for an engine's error, else returns (the caller
        re-raises ``exc``)."""
        w = self.world
        blob = w.take_undo()
        if blob is not None:
            w.restore(blob)
        poses, *rest = undo
        _put_poses(w, poses)
        self._reached, self._done, self._ended, self._success = rest
        self._forget()
        w.mark_changed()  # the engine may hold half of the failed step: resend everything
        if isinstance(exc, EngineError) and not isinstance(exc, StepRolledBack):
            raise StepRolledBack(
                f"step {self.world.state['step'] + 1} was rolled back (the world is as before it; "
                f"sending the same action again is safe): {exc}"
            ) from exc

    def _act(self, actions: dict[str, Any], modalities: tuple | None) -> tuple:
        """A step's first part: apply the actions, hand the render request to the engine."""
        restarts = self.engine_restarts
        before = len(self._reached)
        results: dict[str, Result] = {}
        canon: dict[str, Action | None] = {}
        w = self.world
        rooms = list(map(_ROOM, w.state["agents"].values()))
        changes = w.changes
        for aid in w.agent_ids:
            if aid not in actions:
                continue
            raw = actions[aid]
            act = _PARSED.get(raw) if type(raw) is str else None  # (to_action's first look, inlined)
            err = ""
            if act is None:
                act, err = self.to_action(raw, aid)
            canon[aid] = act
            if act is None:
                results[aid] = Result(False, err)
            elif act.name == "NavigateTo":
                results[aid] = (
                    self._navigate_to(aid, act.args[0])
                    if self.high_level
                    else Result(
                        False,
                        "NavigateTo is a high-level action; this env is low-level (make it with high_level=True), "
                        "so walk there with MoveAhead/RotateLeft/RotateRight",
                    )
                )
            else:
                results[aid] = apply(w, aid, act)
            if act is not None and act.name == "Done":
                self._done = True
        w.state["step"] += 1  # (World.tick, inlined)
        pose_only = w.changes == changes  # (no action got past its checks to an effect)
        if not pose_only:
            self._vis_cache = _VisCache()
        self._vis = {}
        frames = self._observe(results, modalities or self.modalities)  # the engine renders meanwhile
        return restarts, before, results, canon, rooms, pose_only, frames

    def _judge(self, acted: tuple) -> tuple:
        """A step's second part (while the engine renders): progress, reward, the end, info."""
        _restarts, before, results, canon, rooms, pose_only, _frames = acted
        self._mark_seen()
        if not pose_only or rooms != list(map(_ROOM, self.world.state["agents"].values())):
            self._update_progress()  # (goal predicates see rooms, not poses: else nothing to check)
        success = self._success
        terminated = success or self._done
        truncated = not terminated and self.world.state["step"] >= self.max_steps
        self._ended = terminated or truncated
        gained = len(self._reached) - before
        reward = (1.0 if success else 0.0) + 0.1 * gained
        info, rew = {}, {}
        for aid, r in results.items():
            info[aid] = got = self._info(aid, r, canon[aid])
            rew[aid] = reward if self._default_reward else float(self.task.reward(self, aid, got, reward))
        return rew, terminated, truncated, info

    def _finish(self, acted: tuple, judged: tuple) -> tuple:
        """A step's last part: the frames; ``step_all``'s result."""
        rew, terminated, truncated, info = judged
        obs = acted[-1]()
        if self.engine_restarts != acted[0]:  # the engine was restarted while rendering this step
            for i in info.values():
                i["engine_faults"] = {**self.engine_faults, "restarts": self.engine_restarts}
        return obs, rew, terminated, truncated, info

    def to_action(self, raw: Any, aid: str | None = None) -> tuple[Action | None, str]:
        """Any accepted action form → (Action, "") or (None, error message). Never raises; the
        message quotes at most a short prefix of the input."""
        if type(raw) is str:  # (a canonical string seen before: the common case, looked up at once)
            act = _PARSED.get(raw)
            if act is not None:
                return act, ""
        aid = aid or self.agent_id
        try:
            act, err = self._to_action(raw, aid)
        except ActionError as e:
            act, err = None, str(e)
        except (
            RecursionError,
            MemoryError,
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
            OverflowError,
        ) as e:
            act, err = None, f"could not read the action {brief(raw)} ({type(e).__name__})"
        if len(err) > 600:
            err = err[:597] + "..."
        return act, err

    def _to_action(self, raw: Any, aid: str) -> tuple[Action | None, str]:
        if isinstance(raw, Action):
            return Action(raw.name, tuple(raw.args)), ""  # re-checked: a dataclass can be forged
        if isinstance(raw, (int, np.integer)) and not isinstance(raw, bool):
            from .language import Context, by_id

            return by_id(int(raw), Context(objects=(), allowed=tuple(self.allowed_actions(aid)))), ""
        if isinstance(raw, dict):
            return from_mapping(raw), ""
        if isinstance(raw, str):
            if len(raw) > MAX_INPUT_CHARS:
                return None, f"action text of {len(raw)} characters; at most {MAX_INPUT_CHARS}"
            act = _PARSED.get(raw)
            if act is None:
                act = parse_canonical(raw)
                if act is not None and len(raw) <= 200:  # (Actions are immutable: share them)
                    if len(_PARSED) >= 4096:
                        _PARSED.clear()
                    _PARSED[raw] = act
            if act is not None:
                return act, ""
            from .language import ground

            return ground(raw, self.grounding_context(aid)), ""
        return (
            None,
            f"unsupported action type {type(raw).__name__}; pass an Action, id, canonical string, dict or text",
        )

    # ------------------------------------------------------------ what the agent may do
    def allowed_actions(self, aid: str | None = None) -> list[Action]:
        """Numbered actions for this step: navigation, then interactions with what is held or in view.

        With ``allowed_actions="visible"`` (the default) an interaction is listed for everything in
        view, whether or not it is within reach: a benchmark must not leak which objects are
        interactable, so a listed action may fail from where the agent stands. With
        ``allowed_actions="interactable"`` only things the agent can act on from here are listed.
        The list comes from :func:`embodied.rules.offered_actions`, the table the solver uses too.
        """
        aid = aid or self.agent_id
        w = self.world
        vis = self.visible(aid)
        in_view = [t for t, v in vis.items() if v]
        if self.allowed_mode == "interactable":
            in_view = [t for t in in_view if w.interactable(aid, t, visible=True)[0]]
        return offered_actions(w, aid, in_view, w.agent(aid)["seen"] if self.high_level else None)

    def grounding_context(self, aid: str):
        from .language import Candidate, Context

        w = self.world
        pose = w.pose(aid)
        cands = []
        for t in list(w.objs) + list(w.door_specs):
            spec = w.objs.get(t) or w.door_specs[t]
            p = w.position(t)
            cands.append(
                Candidate(
                    id=t,
                    type=w.kind(t),
                    name=spec.name or "",
                    color=getattr(spec, "color", None),
                    distance=math.hypot(p[0] - pose[0], p[1] - pose[1]),
                    bearing=bearing_to(pose, p),
                    visible=self.visible(aid)[t],
                    held=w.holder(t) == aid if t in w.objs else False,
                )
            )
        return Context(
            objects=tuple(cands),
            agents=tuple(a for a in w.agent_ids if a != aid),
            allowed=tuple(self.allowed_actions(aid)),
        )

    # ------------------------------------------------------------ internals
    def _navigate_to(self, aid: str, target: str) -> Result:
        w = self.world
        if not w.exists(target):
            return Result(False, f"unknown object {target!r}")
        if target not in w.agent(aid)["seen"]:
            return Result(False, f"{target} has not been seen yet; explore first")
        moves = path_to_interact(w, aid, target)
        if moves is None:
            return Result(False, f"no path to {target} from here")
        for m in moves:
            r = apply(w, aid, Action(m))
            if not r.success:
                return Result(False, f"NavigateTo({target}) stopped: {r.message}")
        return Result(True, f"arrived at {target}")

    def visible(self, aid: str) -> dict[str, bool]:
        """Which objects and doors ``aid`` sees now; computed once per state and shared (read only).
        A pose seen before in the same state of the things and doors (in this episode or an
        earlier one) gets the visibility computed then."""
        vis = self._vis.get(aid)
        if vis is None:
            w = self.world
            cache = self._vis_cache
            if w.abstract:
                key = (aid, *w.pose(aid))
                vis = cache.poses.get(key)
                if vis is None:
                    if len(cache.poses) >= VIS_CACHE:
                        cache.poses.clear()
                    vis = {t: w.visible(aid, t, sight=cache.sight) for t in (*w.objs, *w.door_specs)}
                    cache.poses[key] = vis
                self._vis[aid] = vis
                return vis
            table = cache.tables.get(aid)
            if table is None:
                basis = w.visibility_basis(aid)
                doors = w.state["doors"]
                key = (aid, tuple(doors[d]["open"] for d in w.door_specs), tuple(basis.items()))
                table = self._vis_tables.get(key)
                if table is None:
                    if len(self._vis_tables) >= VIS_TABLES:
                        self._vis_tables.clear()
                    table = self._vis_tables[key] = _VisTable(basis)
                cache.tables[aid] = table
            pose = POSE(w.state["agents"][aid])  # (World.pose, inlined)
            vis = table.poses.get(pose)
            if vis is None:
                if len(table.poses) >= VIS_CACHE:
                    table.poses.clear()
                if len(table.sight) >= 8 * VIS_CACHE:
                    table.sight.clear()
                vis = table.poses[pose] = w.visible_all(pose, table.basis, table.sight, table.views)
            self._vis[aid] = vis
        return vis

    def _mark_seen(self) -> None:
        agents = self.world.state["agents"]
        for aid in self.world.agent_ids:
            seen = agents[aid]["seen"]  # (World.note_seen, inlined: every step asks)
            vis = self.visible(aid)
            for t in compress(vis, vis.values()):  # (the things in view, picked out in C)
                if t not in seen:
                    seen.append(t)

    def _update_progress(self) -> None:
        """Checkpoints reached and goal_reached() of the current state."""
        for i, cp in enumerate(self.checkpoints):
            if i not in self._reached and self.world.holds(cp):
                self._reached = self._reached | {i}  # (a new set: an undo point holds the old one)
        self._success = self.world.goal_reached()

    def camera(self, agent_id: str | None = None) -> dict:
        """The engine camera of an agent's current pose (docs/protocol.md camera map): eye position
        in meters, heading and pitch in degrees (pitch = -horizon), horizontal fov, frame size."""
        aid = agent_id or self.agent_id
        a, nav = self.world.state["agents"][aid], self.nav
        return {
            "agent": aid,
            "pos": [a["x"], a["y"], nav.eye_height],
            "hpr": [a["yaw"], -a["horizon"], 0.0],
            "fov": nav.fov,
            "width": self.width,
            "height": self.height,
        }

    def _observe(self, results: dict[str, Result], modalities: Sequence[str]) -> Callable[[], dict]:
        """Send this step's scene changes and cameras and ask for frames; returns a function that waits for them."""
        w = self.world
        ids = w.agent_ids
        dirty = w.take_changed() if w.dirty else None  # (nothing marked: no call, no new set)
        for r in results.values():
            if r.changed:
                if dirty is None:
                    dirty = set()
                dirty.update(r.changed)
        graph = self.graph
        updates = graph.updates_for(sorted(dirty)) if dirty else []
        if graph.show_agents:
            avatars = [u for u in graph.agent_updates() if self._sent_agents.get(u["id"]) != u]
            self._sent_agents.update((u["id"], u) for u in avatars)  # (unchanged avatars are not resent)
            updates += avatars
        wire, pairs = _WIRE_OF.get(modalities) or _wire(modalities)
        send = None
        if not updates and self.render_hook is None:
            scene, posers = self._posers
            send = posers[wire] if scene is self.scene and wire in posers else self._poser(wire)
        if send is not None:  # (the repeated request: the cameras' poses alone, packed)
            agents, eye = w.state["agents"], self.nav.eye_height
            poses: list[float] = []
            for aid in ids:
                x, y, yaw, horizon = _XY_YAW_HORIZON(agents[aid])
                poses += (x, y, eye, yaw, -horizon, 0.0)  # (camera()'s pos and hpr)
            request = None
            try:
                pending = send(poses)
            except EngineError as e:
                request = self._request(ids, wire, updates)
                pending = self._recover(e, request)
        else:
            request = self._request(ids, wire, updates)
            try:
                # (an in-process scene renders the env's own requests without checking them again)
                render = (
                    self.render_hook or getattr(self.scene, "render_own", None) or self.scene.render_async
                )
                pending = render(**request)
            except EngineError as e:
                pending = self._recover(e, request)
        said = w.state["said"]
        if said:  # what teammates said last step is heard
            texts = {}
            for aid in ids:
                r = results.get(aid)
                heard = [f"{s[0]} says: {s[1]}" for s in said if s[2] == w.state["step"] - 1 and s[0] != aid]
                texts[aid] = " ".join(x for x in ([r.text or r.message] if r else []) + heard if x)
        else:
            texts = {}
            for aid in ids:
                r = results.get(aid)
                texts[aid] = (r.text or r.message) if r else ""

        # (a partial of a method, not a closure: no function and no cells made per step)
        return partial(self._frames, pending, request, ids, wire, updates, pairs, texts)

    def _frames(
        self,
        pending: Callable[[], dict],
        request: dict | None,
        ids: list,
        wire: tuple,
        updates: list,
        pairs: tuple,
        texts: dict[str, str],
    ) -> dict[str, dict[str, Any]]:
        """The observations of the render request :meth:`_observe` sent (``pending`` waits for
        its frames; ``request``: what was sent, None if only poses were, built again to recover)."""
        try:
            frames = pending()
        except EngineError as e:
            frames = self._recover(e, request or self._request(ids, wire, updates))()
        out = {}
        for aid in ids:
            mine = frames[aid]
            out[aid] = o = {}
            for m, k in pairs:
                o[m] = mine[k]
            o["text"] = texts[aid]
        self.last_obs = out
        return out

    def _request(self, ids: tuple, wire: tuple, updates: list) -> dict:
        """The render request of the current poses (the keyword arguments of ``render_async``)."""
        return {
            "agents": list(ids),
            "modalities": list(wire),
            "updates": updates,
            "cameras": list(map(self.camera, ids)),
        }

    def _poser(self, wire: tuple) -> Callable[[Sequence[float]], Callable[[], dict]] | None:
        """This env's scene's :meth:`~embodied.engine.RemoteScene.poser` for the modalities
        ``wire`` (wire names), made once per scene; None if the scene has none (in-process, or no
        compact path)."""
        scene, posers = self._posers
        if scene is not self.scene:  # (a new engine, or a vector env gave this env another scene)
            scene, posers = self._posers = (self.scene, {})
        if wire in posers:
            return posers[wire]
        make = getattr(scene, "poser", None)
        if make is None:
            posers[wire] = None
            return None
        lenses = [(aid, self.nav.fov, self.width, self.height) for aid in self.world.agent_ids]
        send = make(self.world.agent_ids, wire, lenses)
        if send is not None or getattr(scene, "handle", None) is not None:  # (else: not loaded yet)
            posers[wire] = send
        return send

    MAX_RESTARTS = 8  # engine restarts per episode
    RECOVERY_ATTEMPTS = 4  # launches tried for one failure, with backoff
    RECOVERY_BACKOFF = 0.1  # seconds before the second launch, doubled after each failed one

    def _recover(self, err: EngineError, request: dict) -> Callable[[], dict]:
        """The engine this env launched crashed, hung (no heartbeat) or timed out: stop it, start a
        new one, load the scene from the committed state and render again, so the episode goes on
        where it was (retried with backoff if the new engine fails too). Anything else is re-raised."""
        proc = getattr(self.engine, "process", None)
        if not self._own_engine or proc is None or isinstance(err, ProtocolError):
            raise err
        if proc.poll() is None and not isinstance(err, EngineTimeout):
            raise err  # a live engine that answered with an error
        kind = (
            "hang"
            if isinstance(err, EngineHung)
            else "timeout"
            if isinstance(err, EngineTimeout)
            else "crash"
        )
        self.engine_faults[kind] += 1
        log.warning(
            "engine process %s: %s (%s); restarting it and restoring the episode", proc.pid, kind, err
        )
        delay, last = self.RECOVERY_BACKOFF, err
        for attempt in range(self.RECOVERY_ATTEMPTS):
            if self._episode_restarts >= self.MAX_RESTARTS:
                break
            if attempt:
                time.sleep(delay)
                delay *= 2
            self.engine.kill()
            self._episode_restarts += 1
            try:
                self.engine = launch(**self._launch_args)
                self.engine_restarts += 1
                self.scene = self.engine.scene()
                self.scene.load(self.graph.build_nodes(), name=self.spec.name, background=SKY)
                self._sent_agents = {}
                frames = self.scene.render(**{**request, "updates": None})  # the scene shows the state
            except (EngineTimeout, EngineError) as e:
                if isinstance(e, ProtocolError):
                    raise
                last = e
                log.warning("engine recovery attempt %d failed: %s", attempt + 1, e)
                continue
            log.warning("engine restarted (pid %s); episode restored", self.engine.process.pid)
            return lambda: frames
        raise EngineError(
            f"could not restore the episode on a new engine ({self._episode_restarts} restarts this "
            f"episode, limit {self.MAX_RESTARTS}): {last}"
        ) from last

    def _seal_infos(self, materialize: bool = False, poses: tuple | None = None) -> None:
        """The world is about to change: infos of the last step still alive (an RL loop drops them
        unread, a loop that keeps ``info`` until the next step does not) are sealed with the state
        they describe, so entries read later stay true to it. ``materialize``: compute them now
        instead (the world is about to be replaced). The state is kept as its poses (``poses``:
        :func:`_poses` of it, taken already) and :meth:`World.base`, which the world fills with a
        snapshot only when something but poses changes: a step that only moves takes none."""
        if not self._open_infos:
            return
        live = []
        for ref in self._open_infos:
            info = ref()
            if info is not None and info.pending:
                live.append(info)
        self._open_infos = []
        if not live:
            return
        if materialize:
            for info in live:
                info.copy()
            return
        w, vis, cache = self.world, self._vis, self._vis_cache
        base, poses = w.base(), poses or _poses(w)

        def run(make: Callable[[], Any]) -> Any:
            now, now_vis, now_cache = w.snapshot(), self._vis, self._vis_cache
            if base[0] is not None:
                w.restore(base[0])
            _put_poses(w, poses)
            self._vis, self._vis_cache = vis, cache  # (that cache is still true of the sealed state)
            try:
                return make()
            finally:
                w.restore(now)
                self._vis, self._vis_cache = now_vis, now_cache

        for info in live:
            info.seal(run)

    def _info(self, aid: str, r: Result, act: Action | None) -> dict[str, Any]:
        """This step's info for ``aid``; ``objects`` and ``allowed_actions`` are computed when read."""
        w = self.world
        a = w.state["agents"][aid]
        info = LazyInfo(
            {
                "lastActionSuccess": r.success,
                "errorMessage": "" if r.success else r.message,
                "feedback": r.message,
                "action": (act.name if not act.args else str(act)) if act else None,  # (str(act), no call)
                "inventory": list(a["inventory"]),
                "progress": len(self._reached) / max(1, len(self.checkpoints)),
                "success": self._success,
                "step": w.state["step"],
                "max_steps": self.max_steps,
                "engine_faults": {**self.engine_faults, "restarts": self.engine_restarts},
                "agent": {
                    "id": aid,
                    "x": a["x"],
                    "y": a["y"],
                    "yaw": a["yaw"],
                    "horizon": a["horizon"],
                    "room": a["room"],
                },
            },
            {
                "allowed_actions": partial(Env._allowed_names, self, aid),
                "objects": partial(Env._objects, self, aid),
            },
        )
        if "segmentation" in self.modalities:
            info["segmentation_ids"] = self.graph.seg_names
        self._open_infos.append(weakref.ref(info))
        return info

    def _allowed_names(self, aid: str) -> list[str]:
        """``info["allowed_actions"]``: :meth:`allowed_actions` as canonical strings."""
        return [str(x) for x in self.allowed_actions(aid)]

    def _objects(self, aid: str) -> list[dict[str, Any]]:
        """Per object and door: id, type, position, visible, interactable, distance, state."""
        w = self.world
        a = w.agent(aid)
        objects = []
        for t, vis in self.visible(aid).items():
            st = w.thing(t)
            p = w.position(t)
            objects.append(
                {
                    "objectId": t,
                    "objectType": w.kind(t),
                    "position": {"x": p[0], "y": p[1], "z": p[2]},
                    "visible": vis,
                    "interactable": vis and w.interactable(aid, t, visible=True)[0],
                    "distance": round(math.hypot(p[0] - a["x"], p[1] - a["y"]), 3),
                    "isOpen": st["open"],
                    "isLocked": st["locked"],
                    "isToggled": st.get("on", False),
                    "isPickedUp": t in w.objs and w.holder(t) is not None,
                    "parentReceptacle": (w.container_chain(t) or [None])[0] if t in w.objs else None,
                }
            )
        return objects

    def render(self) -> np.ndarray | None:
        return None if self.last_obs is None else self.last_obs[self.agent_id]["rgb"]


def _seed(name: str, v: Any) -> int | None:
    """A seed as given by a user: a whole number or None (a ConfigError otherwise)."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ConfigError(f"{name} must be a whole number or None, got {v!r}")
    return int(v)


def _wire(modalities: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The wire names of ``modalities`` and (modality, wire name) pairs, worked out once per tuple."""
    got = _WIRE_OF.get(modalities)
    if got is None:
        got = _WIRE_OF[modalities] = (
            tuple(_WIRE[m] for m in modalities),
            tuple((m, _WIRE[m]) for m in modalities),
        )
    return got


def _poses(w: World) -> tuple:
    """What a step that only moves changes in ``w`` (see :meth:`World.base`), to put back with
    :func:`_put_poses`: the step counter and per agent its pose fields and how many things it
    has seen."""
    agents = []
    for aid, a in w.state["agents"].items():
        agents.append((aid, _POSE(a), len(a["seen"])))
    return w.state["step"], agents


def _put_poses(w: World, poses: tuple) -> None:
    """Put back what :func:`_poses` took (sightings since are forgotten)."""
    step, agents = poses
    w.state["step"] = step
    for aid, vals, seen in agents:
        a = w.state["agents"][aid]
        a.update(zip(_POSE_KEYS, vals))
        del a["seen"][seen:]
