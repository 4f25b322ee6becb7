"""Batched envs: ``embodied.make_vec(task, n, engine_per=k)``, a Gymnasium ``VectorEnv``.

    vec = embodied.make_vec("escape/key-door", 8, engine_per=4, action_mode="discrete",
                            obs_mode="image", width=84, height=84)
    obs, infos = vec.reset(seed=0)                     # obs: (8, 84, 84, 3) uint8
    obs, rew, term, trunc, infos = vec.step(vec.action_space.sample())

The ``n`` envs live in ``ceil(n / engine_per)`` engine processes, ``engine_per`` scenes each (one
scene handle per env, so they never see each other's worlds). On an engine process's
shared-memory path a step sends one render request per env, pipelined: an env applies its action
and its request goes out, then the next env's while the engine renders (all engines render in
parallel; a request goes compact once the engine knows its shape); the rewards and infos are
computed while they render, then the frames are taken in the order sent (docs/performance.md,
"Batched envs"). Elsewhere (ZeroMQ, in-process, ``render_threads=2``) a step sends two requests
per engine, a quarter of its envs (half with ``render_threads=2``: each engine draws a request's
scenes on two threads, one after the other for now: a race is left, so it gives no speed-up;
default 1) and then the rest. The results are those of each env stepped on its own.
Each step returns a new observation array. More engines use more cores; more envs per engine cut
round trips.
``engine="inprocess"`` puts every env's scene on this process's own renderer instead (no engine
process, no socket: one core; ``engine_per`` then only groups the envs' batched requests);
``engine="panda3d"`` (the default, unless ``$EMBODIED_ENGINE`` says otherwise) launches processes.
Each env is an :class:`~embodied.adapters.gym.EmbodiedGymEnv`, so every keyword it takes works
(``action_mode``, ``obs_mode``, ``modalities``, ``max_steps``, ...). Autoreset follows Gymnasium's
``NEXT_STEP`` mode: the step after an env's episode ended resets it (its action is ignored).

``infos`` holds, per key, an array over envs plus a ``_key`` mask (Gymnasium's convention), built
when first read. By
default only the cheap keys are gathered (``info_keys="cheap"``: everything but ``objects`` and
``allowed_actions``, which cost most of a step to build); pass ``info_keys="all"`` or a tuple of
names. A dead engine is restarted and its envs' scenes reloaded in their current state (the step
goes on), up to ``MAX_RESTARTS`` times per engine slot; anything else raises.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array

from . import protocol as P
from .adapters.gym import EmbodiedGymEnv
from .engine import EngineClient, launch
from .errors import ConfigError, EngineError, ProtocolError
from .lazyinfo import LazyInfo

log = logging.getLogger("embodied.vector")
LAZY_KEYS = ("objects", "allowed_actions")
VEC_ENGINES = (None, "panda3d", "inprocess")  # what make_vec(engine=) launches


class _Slot:
    __slots__ = ("done", "env", "error", "frames", "request", "sent")

    def __init__(self, env, request: dict):
        self.env, self.request = env, request
        self.done, self.sent, self.frames, self.error = False, False, None, None


class RenderBatcher:
    """Collects render requests of many envs and sends one request per engine (and modality set).

    ``submit`` is an env's ``render_hook``: it queues the request and returns a function that
    gives this env's frames (sending the queue and taking earlier answers first if needed).
    Requests are answered in the order sent: on an engine's shared-memory path up to
    ``IN_FLIGHT`` requests may be on their way at once (its ring holds that many answers), so
    the engine can render one batch while the client prepares the next; elsewhere one.
    ``recover(client)`` (optional) is called when an engine fails; if it returns True the batch
    is sent again to the new engine.
    """

    IN_FLIGHT = 2  # = embodied.shm.DEPTH: answers the ring holds before the first is overwritten

    def __init__(self, recover: Callable[[EngineClient], bool] | None = None):
        self.queue: list[_Slot] = []
        self.inflight: list[tuple[Any, list[_Slot], Any]] = []  # (client, slots, result), in send order
        self.recover = recover
        self.eager = False  # send each request as soon as it is queued (one env a part per engine)

    def submit(self, env, **request: Any) -> Callable[[], dict]:
        slot = _Slot(env, request)
        self.queue.append(slot)
        if self.eager:  # (the engine starts before the env's step goes on: docs/performance.md)
            self.send()

        def pending() -> dict:
            if not slot.done:
                if not slot.sent:
                    self.send()
                while not slot.done:
                    if not self.inflight:  # (dropped with a failed step)
                        raise EngineError("this render request was dropped: the step that sent it failed")
                    self._take_first()
            if slot.error is not None:
                raise slot.error
            return slot.frames

        return pending

    def flush(self) -> None:
        """Send what is queued and wait for every answer."""
        self.send()
        self.take()

    def send(self) -> None:
        """Send what is queued: one request per engine (and modality set); do not wait."""
        queue = self.queue
        if not queue:
            return
        self.queue = []
        if len(queue) == 1:  # (one env's request, as every part is on the shared-memory path)
            s = queue[0]
            client = s.env.scene.client
            if self.inflight:
                self._room(client)
            s.sent = True
            self.inflight.append((client, queue, self._send(queue)))  # the engine renders meanwhile
            return
        groups: dict[tuple, list[_Slot]] = {}
        for s in queue:
            key = (id(s.env.scene.client), tuple(s.request["modalities"]))
            groups.setdefault(key, []).append(s)
        for g in groups.values():
            for i in range(0, len(g), P.MAX_BATCH):
                chunk = g[i : i + P.MAX_BATCH]
                client = chunk[0].env.scene.client
                self._room(client)
                for s in chunk:
                    s.sent = True
                self.inflight.append((client, chunk, self._send(chunk)))  # the engines render meanwhile

    def _room(self, client) -> None:
        """Take answers on their way to ``client`` until it can hold one more."""
        while True:
            mine = [r for c, _, r in self.inflight if c is client]
            if not mine or (len(mine) < self.IN_FLIGHT and all(getattr(r, "fast", False) for r in mine)):
                return
            self._take_first(client)

    def take(self) -> None:
        """Wait for every request sent."""
        while self.inflight:
            self._take_first()

    def drop(self) -> None:
        """Forget what is queued and on its way (a failed step; late answers are dropped by seq)."""
        self.queue, self.inflight = [], []

    def _take_first(self, client=None) -> None:
        """Take the oldest answer on its way (to ``client``, if given)."""
        n = 0 if client is None else next(i for i, e in enumerate(self.inflight) if e[0] is client)
        client, chunk, result = self.inflight.pop(n)
        self._take(client, chunk, result)

    @staticmethod
    def _send(chunk: list[_Slot], fresh: bool = False):
        items = []
        for s in chunk:
            r = s.request
            fields = {"agents": r.get("agents"), "updates": None if fresh else r.get("updates")}
            fields["cameras"] = r.get("cameras")  # (fresh: a reloaded scene already shows the state)
            items.append((s.env.scene, fields))
        client = chunk[0].env.scene.client
        # (in-process: the envs' own requests, unchecked)
        own = getattr(type(client), "render_own_many", None)
        try:
            if own is not None:
                return own(client, items, chunk[0].request["modalities"])
            return client.render_many(items, chunk[0].request["modalities"])
        except EngineError as exc:
            return exc

    def _take(self, client, chunk: list[_Slot], result, retried: bool = False) -> None:
        try:
            if isinstance(result, Exception):
                raise result
            for s, frames in zip(chunk, result()):
                s.frames, s.done = frames, True
        except EngineError as exc:
            now = chunk[0].env.scene.client
            if (
                not retried
                and not isinstance(exc, ProtocolError)
                and (now is not client or (self.recover is not None and self.recover(client)))
            ):  # the engine was replaced (for this chunk or an earlier one): render on the new one
                client = chunk[0].env.scene.client
                return self._take(client, chunk, self._send(chunk, fresh=True), retried=True)
            for s in chunk:
                s.error, s.done = exc, True


class EmbodiedVectorEnv(VectorEnv):
    """``n`` envs of one task on ``ceil(n / engine_per)`` engines, rendered in batches (see module)."""

    MAX_RESTARTS = 3
    # parts of each engine's envs sent one after another, so client and engine overlap; 0: one per
    # env (each env's request its own: compact on the shared-memory path, docs/performance.md)
    LANES = 0

    def __init__(
        self,
        task: Any,
        num_envs: int,
        engine_per: int = 4,
        info_keys: str | Sequence[str] = "cheap",
        renderer: str = "software",
        engine_timeout: float = 30.0,
        engine: str | None = None,
        render_threads: int | None = None,
        **env_kwargs: Any,
    ):
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"num_envs must be a positive integer, got {num_envs!r}")
        if not isinstance(engine_per, int) or engine_per < 1:
            raise ConfigError(f"engine_per must be a positive integer, got {engine_per!r}")
        if engine not in VEC_ENGINES:
            raise ConfigError(
                f"make_vec(engine={engine!r}): make_vec launches its own engines, so engine= names one "
                f"of {VEC_ENGINES} (None: $EMBODIED_ENGINE, else 'panda3d'); pass engine_per= for envs "
                "per engine"
            )
        _check_env_engine(engine, num_envs, engine_per)
        if not (info_keys in ("cheap", "all") or isinstance(info_keys, (list, tuple))):
            raise ConfigError(f"info_keys must be 'cheap', 'all' or a tuple of names, got {info_keys!r}")
        self.info_keys = info_keys
        self._launch_args = dict(engine=engine, renderer=renderer, timeout=engine_timeout)
        self.render_threads = _render_threads(render_threads, engine, num_envs, engine_per)
        if self.render_threads > 1:
            self._launch_args["render_threads"] = self.render_threads
        self.engines: list[EngineClient] = []
        self.envs: list[EmbodiedGymEnv] = []
        self.engine_restarts = 0
        self._batcher = RenderBatcher(self._recover)
        try:
            for _ in range(math.ceil(num_envs / engine_per)):
                self.engines.append(launch(**self._launch_args))
            for i in range(num_envs):
                genv = EmbodiedGymEnv(task, engine=self.engines[i // engine_per], **env_kwargs)
                genv.env.render_hook = self._hook(genv.env)
                self.envs.append(genv)
        except BaseException:
            self.close()
            raise
        self.num_envs = num_envs
        self.engine_per = engine_per
        first = self.envs[0]
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.metadata = {**first.metadata, "autoreset_mode": AutoresetMode.NEXT_STEP}
        self.render_mode = first.render_mode
        self._ended = np.zeros(num_envs, dtype=bool)
        self._ended_ids: list[int] = []  # the envs whose episode ended last step (reset this step)
        self._info_names: dict[tuple, dict[str, None]] = {}
        self._obs = create_empty_array(self.single_observation_space, num_envs)
        self._box = isinstance(self.single_observation_space, spaces.Box)  # obs rows written in place
        # one request per env where requests go compact (an engine process on the shared-memory
        # path, one render thread); else two parts (the in-process engine renders when asked)
        two = self.render_threads > 1 or getattr(self.engines[0], "_fast", None) is None
        self._lanes = _lanes(num_envs, engine_per, 2 if two else self.LANES, half=self.render_threads > 1)

    @property
    def _lanes(self) -> list[list[int]]:
        """The parts of a step: env indices, each part's requests sent before the next part's
        actions are applied (see :func:`_lanes`)."""
        return self._parts

    @_lanes.setter
    def _lanes(self, lanes: list[list[int]]) -> None:
        self._parts = lanes
        # at most one env of an engine in each part: every env's request is its own, so it goes
        # out as soon as the env has queued it (before the rest of its step's first part)
        self._batcher.eager = all(len({i // self.engine_per for i in lane}) == len(lane) for lane in lanes)

    def _hook(self, env) -> Callable[..., Callable[[], dict]]:
        return lambda **request: self._batcher.submit(env, **request)

    # ------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        seeds = (
            seed
            if isinstance(seed, (list, tuple))
            else [None if seed is None else seed + i for i in range(self.num_envs)]
        )
        if len(seeds) != self.num_envs:
            raise ConfigError(f"{len(seeds)} seeds for {self.num_envs} envs")
        obs, infos = [], []
        for genv, s in zip(self.envs, seeds):
            o, info = genv.reset(seed=s, options=options)
            obs.append(o)
            infos.append(self._pick(info))
        self._ended[:] = False
        self._ended_ids = []
        self._obs = concatenate(
            self.single_observation_space,
            obs,
            create_empty_array(self.single_observation_space, self.num_envs),
        )
        return self._obs, self._infos(infos)

    def step(self, actions):
        """Step every env. The envs of each engine go in parts (``self._lanes``: one env each on
        the shared-memory path): a part's actions are applied and its render request sent (one
        per engine), then the next part's, so the engines render one part while the client
        applies the next; the rewards and infos are computed while they render, and the frames
        taken in the order sent. After the last answer only the frames are written: what does
        not need them is done before. The results are those of stepping each env on its own."""
        n, envs = self.num_envs, self.envs
        steppers: list = [None] * n
        batcher, lanes = self._batcher, self._lanes
        ended = self._ended_ids  # (reset below, NEXT_STEP: their actions are ignored)
        skip = set(ended)
        try:
            for lane in lanes:
                for i in lane:
                    if i not in skip:
                        env = envs[i].env
                        steppers[i] = st = env.stepper({env.agent_id: envs[i].env_action(actions[i])})
                        next(st)  # the action applied, the render request queued
                batcher.send()  # one render request per engine for this part's envs
            # while the engines render: progress, rewards, infos, the arrays to return
            rewards, terms, truncs = [0.0] * n, [False] * n, [False] * n
            infos: list = [None] * n
            pick = self._pick
            for i, st in enumerate(steppers):
                if st is not None:
                    rew, terms[i], truncs[i], info_all = next(st)
                    aid = envs[i].env.agent_id
                    rewards[i], infos[i] = rew[aid], pick(info_all[aid])
            rewards = np.array(rewards, dtype=np.float64)
            terms, truncs = np.array(terms, dtype=bool), np.array(truncs, dtype=bool)
            done = terms | truncs
            ending = done.nonzero()[0].tolist()  # (the envs to reset next step)
            vinfo = None if ended else self._infos(infos)
            obs = np.empty_like(self._obs) if self._box else [None] * n  # (earlier ones stay valid)
            for lane in lanes:
                for i in lane:  # the frames, in the order sent
                    st = steppers[i]
                    if st is not None:
                        genv = envs[i]
                        obs[i] = genv._obs(_finish(st)[0][genv.env.agent_id])
        except BaseException:
            for st in steppers:  # envs whose step did not complete roll it back
                if st is not None:
                    st.close()
            batcher.drop()
            raise
        for i in ended:
            obs[i], info = envs[i].reset()
            infos[i] = self._pick(info)
        self._ended, self._ended_ids = done, ending
        space = self.single_observation_space
        self._obs = obs if self._box else concatenate(space, obs, create_empty_array(space, n))
        return self._obs, rewards, terms, truncs, vinfo if vinfo is not None else self._infos(infos)

    def _pick(self, info: dict) -> dict:
        """The entries of an env's info that go into the vector info (a plain dict)."""
        if self.info_keys == "cheap":  # what is built already (LazyInfo computes the rest when read)
            if not any(dict.__contains__(info, k) for k in LAZY_KEYS):
                return dict(dict.items(info))  # (dict's own items: nothing is computed)
            return {k: v for k, v in dict.items(info) if k not in LAZY_KEYS}
        if self.info_keys == "all":
            return dict(info)
        return {k: info[k] for k in self.info_keys if k in info}

    def _infos(self, infos: list[dict]) -> dict[str, Any]:
        """The vector info of the envs' infos: built when first read (an RL loop that never
        reads it does not pay for it). The per-env dicts are this step's own, so what it shows
        later is what it would have shown now."""
        keys = tuple(infos[0])
        if any(tuple(i) != keys for i in infos):
            return self._gather(infos)
        names = self._info_names.get(keys)
        if names is None:  # (every step has the same keys: the vector info's names built once)
            if len(self._info_names) >= 16:
                self._info_names.clear()
            names = self._info_names[keys] = dict.fromkeys(x for k in keys for x in (k, "_" + k))
        return _VectorInfo(names.copy(), lambda: self._gather(infos))

    def _gather(self, infos: list[dict], mask: np.ndarray | None = None) -> dict[str, Any]:
        """Gymnasium's vector info layout (an array per key, a ``_key`` mask), built in one pass
        when every env reports the same keys (as they do), else through ``_add_info``. A key's
        array type follows its first env's value: bool, float64, int64 (object if any other env's
        value is not an int), a nested dict of the same layout, else object."""
        keys = list(dict.keys(infos[0]))
        if any(list(dict.keys(i)) != keys for i in infos):
            out: dict[str, Any] = {}
            for n, info in enumerate(infos):
                out = self._add_info(out, dict(dict.items(info)), n)
            return out
        everyone = np.ones(len(infos), dtype=bool) if mask is None else mask
        out = {}
        same: dict[type, tuple[list, list]] = {bool: ([], []), float: ([], []), int: ([], [])}
        for k, col in zip(keys, zip(*map(dict.values, infos))):
            v0 = col[0]
            kind = _KINDS.get(type(v0))
            if kind is None:
                if isinstance(v0, dict):
                    kind = dict
                elif isinstance(v0, (bool, np.bool_)):
                    kind = bool
                elif isinstance(v0, (int, np.integer)):
                    kind = int
                elif isinstance(v0, (float, np.floating)):
                    kind = float
            if kind is int and not all(type(v) is int for v in col):
                kind = None
            if kind is dict:
                out[k] = self._gather(list(col), everyone)
            elif kind is None:
                out[k] = _objects(col)
            else:
                out[k] = None  # (filled below, with the other columns of its type in one array)
                same[kind][0].append(k)
                same[kind][1].append(col)
            out["_" + k] = everyone
        for kind, (ks, cols) in same.items():
            if ks:
                rows = np.array(cols, dtype=_DTYPES[kind])
                for k, row in zip(ks, rows):
                    out[k] = row
        return out

    def render(self):
        return tuple(genv.render() for genv in self.envs)

    def close_extras(self, **kwargs: Any) -> None:
        for genv in self.envs:
            try:
                genv.close()  # frees its scene on the shared engine
            except Exception:
                log.debug("closing an env failed", exc_info=True)
        for eng in self.engines:
            eng.close()
        self.envs, self.engines = [], []

    # ------------------------------------------------------------ recovery
    def _recover(self, client: EngineClient) -> bool:
        """``client``'s engine died: start another, reload its envs' scenes as they are now."""
        proc = client.process
        if (
            proc is None
            or proc.poll() is None
            or self.engine_restarts >= self.MAX_RESTARTS * len(self.engines)
        ):
            return False
        from .env import SKY

        log.warning("engine process %s died; restarting it and reloading its envs' scenes", proc.pid)
        new = launch(**self._launch_args)
        self.engines[self.engines.index(client)] = new
        self.engine_restarts += 1
        client.close()
        for genv in self.envs:
            env = genv.env
            if env.engine is client:
                env.engine = new
                env.scene = new.scene()
                env.scene.load(env.graph.build_nodes(), name=env.spec.name, background=SKY)
        return True


def _finish(stepper) -> tuple:
    """Run an :meth:`~embodied.env.Env.stepper` to its end; its result."""
    try:
        while True:
            next(stepper)
    except StopIteration as done:
        return done.value


class _VectorInfo(LazyInfo):
    """A vector info whose arrays are built, all at once, when any entry is first read."""

    __slots__ = ("_build",)

    def __init__(self, names: dict[str, None], build: Callable[[], dict]):
        super().__init__({}, names)  # (``names``: the entries, all pending; a dict this info owns)
        self._build = build

    def _fill(self, key: Any) -> None:
        if key in self._pending:
            self._fill_all()

    def _fill_all(self) -> None:
        pending, self._pending = self._pending, {}
        if pending:
            built = self._build()
            for k in pending:  # (entries set or deleted by the caller meanwhile stay so)
                dict.__setitem__(self, k, built[k])


_KINDS = {bool: bool, np.bool_: bool, float: float, np.float64: float, int: int, dict: dict}
_DTYPES = {bool: bool, float: np.float64, int: np.int64}


def _objects(vals: Sequence) -> np.ndarray:
    return np.fromiter(vals, dtype=object, count=len(vals))  # (element by element: lists stay lists)


def _check_env_engine(engine: str | None, num_envs: int, engine_per: int) -> None:
    """ConfigError before anything starts when ``$EMBODIED_ENGINE`` names an engine ``make_vec`` cannot
    batch envs on: an Unreal level or a Unity player holds one scene (an unknown name: launch says so)."""
    import os

    chosen = os.environ.get("EMBODIED_ENGINE") if engine is None else None
    if chosen in ("unity", "unreal") and engine_per > 1 and num_envs > 1:
        raise ConfigError(
            f"make_vec with $EMBODIED_ENGINE={chosen}: a {chosen} engine holds one scene, so give "
            f"engine_per=1 (one engine per env), or unset EMBODIED_ENGINE to batch {engine_per} envs "
            "per embedded engine"
        )


def _render_threads(wanted: int | None, engine: str | None, num_envs: int, engine_per: int) -> int:
    """Render threads per engine process: ``wanted`` (1 or 2; None: 1, docs/performance.md,
    "Rendering a batch on two threads"). Other engines (in-process, Unity, Unreal) take no such
    option: 1."""
    import os

    if wanted is not None and (
        not isinstance(wanted, int) or isinstance(wanted, bool) or wanted not in (1, 2)
    ):
        raise ConfigError(f"render_threads must be 1 or 2 (or None: 1), got {wanted!r}")
    if (engine or os.environ.get("EMBODIED_ENGINE") or "panda3d") != "panda3d":
        return 1
    return wanted or 1


def _lanes(num_envs: int, engine_per: int, parts: int, half: bool = False) -> list[list[int]]:
    """Env indices per lane: lane ``j`` holds the ``j``-th part of every engine's envs (env ``i``
    is on engine ``i // engine_per``). ``parts`` 0 (or at least an engine's envs): one env a part.
    Else the first part is small (a quarter, at least one env), so the engines start rendering
    soon; with three parts or more the last is small too (its frames are all the client writes
    after the engine's last answer); the others share the rest evenly. ``half``: the first part
    is half of them (an engine rendering on two threads draws two envs in the time of one)."""
    most = max(min(engine_per, num_envs - start) for start in range(0, num_envs, engine_per))
    lanes: list[list[int]] = [[] for _ in range(parts or most)]
    for start in range(0, num_envs, engine_per):
        group = list(range(start, min(start + engine_per, num_envs)))
        k = min(parts, len(group)) if parts else len(group)
        if k == len(group):  # one env a part
            for j, i in enumerate(group):
                lanes[j].append(i)
            continue
        first = max(1, len(group) // (2 if half else 4))
        last = max(1, len(group) // 4) if k >= 3 else 0
        rest = len(group) - first - last
        mid = k - (2 if last else 1)  # parts between the first and the last
        cut = [0, first] + [first + rest * j // mid for j in range(1, mid + 1)]
        if last:
            cut.append(len(group))
        for j in range(k):
            lanes[j] += group[cut[j] : cut[j + 1]]
    return [lane for lane in lanes if lane]


def make_vec(task: Any, num_envs: int, engine_per: int = 4, **kwargs: Any) -> EmbodiedVectorEnv:
    """``num_envs`` envs of ``task`` batched over ``ceil(num_envs / engine_per)`` engines (see
    :mod:`embodied.vector`); keyword arguments go to each :class:`~embodied.adapters.gym.EmbodiedGymEnv`."""
    return EmbodiedVectorEnv(task, num_envs, engine_per=engine_per, **kwargs)
