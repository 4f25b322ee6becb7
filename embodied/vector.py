"""Batched envs: ``embodied.make_vec(task, n, engine_per=k)``, a Gymnasium ``VectorEnv``.

    vec = embodied.make_vec("escape/key-door", 8, engine_per=4, action_mode="discrete",
                            obs_mode="image", width=84, height=84)
    obs, infos = vec.reset(seed=0)                     # obs: (8, 84, 84, 3) uint8
    obs, rew, term, trunc, infos = vec.step(vec.action_space.sample())

The ``n`` envs live in ``ceil(n / engine_per)`` engine processes, ``engine_per`` scenes each (one
scene handle per env, so they never see each other's worlds). A step applies every env's action,
then sends ONE render request per engine naming all its scenes (all engines render in parallel),
then finishes each env's step. More engines use more cores; more envs per engine cut round trips.
Each env is an :class:`~embodied.adapters.gym.EmbodiedGymEnv`, so every keyword it takes works
(``action_mode``, ``obs_mode``, ``modalities``, ``max_steps``, ...). Autoreset follows Gymnasium's
``NEXT_STEP`` mode: the step after an env's episode ended resets it (its action is ignored).

``infos`` holds, per key, an array over envs plus a ``_key`` mask (Gymnasium's convention). By
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
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array

from . import protocol as P
from .adapters.gym import EmbodiedGymEnv
from .engine import EngineClient, launch
from .errors import ConfigError, EngineError, ProtocolError

log = logging.getLogger("embodied.vector")
LAZY_KEYS = ("objects", "allowed_actions")


class _Slot:
    __slots__ = ("done", "env", "error", "frames", "request")

    def __init__(self, env, request: dict):
        self.env, self.request = env, request
        self.done, self.frames, self.error = False, None, None


class RenderBatcher:
    """Collects render requests of many envs and sends one request per engine (and modality set).

    ``submit`` is an env's ``render_hook``: it queues the request and returns a function that
    flushes the queue if needed and gives this env's frames. ``recover(client)`` (optional) is
    called when an engine fails; if it returns True the batch is sent again to the new engine.
    """

    def __init__(self, recover: Callable[[EngineClient], bool] | None = None):
        self.queue: list[_Slot] = []
        self.inflight: list[tuple[list[_Slot], Any]] = []
        self.recover = recover

    def submit(self, env, **request: Any) -> Callable[[], dict]:
        slot = _Slot(env, request)
        self.queue.append(slot)

        def pending() -> dict:
            if not slot.done:
                self.send()
                self.take()
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
        queue, self.queue = self.queue, []
        groups: dict[tuple, list[_Slot]] = {}
        for s in queue:
            key = (id(s.env.scene.client), tuple(s.request["modalities"]))
            groups.setdefault(key, []).append(s)
        chunks = [g[i : i + P.MAX_BATCH] for g in groups.values() for i in range(0, len(g), P.MAX_BATCH)]
        self.inflight += [(chunk, self._send(chunk)) for chunk in chunks]  # the engines render meanwhile

    def take(self) -> None:
        """Wait for every request sent."""
        inflight, self.inflight = self.inflight, []
        for chunk, result in inflight:
            self._take(chunk, result)

    @staticmethod
    def _send(chunk: list[_Slot], fresh: bool = False):
        items = []
        for s in chunk:
            fields = {k: s.request.get(k) for k in ("agents", "updates", "cameras")}
            if fresh:
                fields["updates"] = None  # a reloaded scene already shows the current state
            items.append((s.env.scene, fields))
        try:
            return chunk[0].env.scene.client.render_many(items, chunk[0].request["modalities"])
        except EngineError as exc:
            return exc

    def _take(self, chunk: list[_Slot], result, retried: bool = False) -> None:
        try:
            if isinstance(result, Exception):
                raise result
            for s, frames in zip(chunk, result()):
                s.frames, s.done = frames, True
        except EngineError as exc:
            client = chunk[0].env.scene.client
            if not retried and not isinstance(exc, ProtocolError) and self.recover and self.recover(client):
                return self._take(chunk, self._send(chunk, fresh=True), retried=True)
            for s in chunk:
                s.error, s.done = exc, True


class EmbodiedVectorEnv(VectorEnv):
    """``n`` envs of one task on ``ceil(n / engine_per)`` engines, rendered in batches (see module)."""

    MAX_RESTARTS = 3

    def __init__(
        self,
        task: Any,
        num_envs: int,
        engine_per: int = 4,
        info_keys: str | Sequence[str] = "cheap",
        renderer: str = "software",
        engine_timeout: float = 30.0,
        **env_kwargs: Any,
    ):
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ConfigError(f"num_envs must be a positive integer, got {num_envs!r}")
        if not isinstance(engine_per, int) or engine_per < 1:
            raise ConfigError(f"engine_per must be a positive integer, got {engine_per!r}")
        if "engine" in env_kwargs:
            raise ConfigError(
                "make_vec launches its own engines; pass engine_per= (envs per engine), not engine="
            )
        if not (info_keys in ("cheap", "all") or isinstance(info_keys, (list, tuple))):
            raise ConfigError(f"info_keys must be 'cheap', 'all' or a tuple of names, got {info_keys!r}")
        self.info_keys = info_keys
        self._launch_args = dict(renderer=renderer, timeout=engine_timeout)
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
        self._obs = create_empty_array(self.single_observation_space, num_envs)

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
        self._obs = concatenate(self.single_observation_space, obs, self._obs)
        return self._obs, self._gather(infos)

    def step(self, actions):
        steppers: list = []
        try:
            for i, genv in enumerate(self.envs):
                if self._ended[i]:
                    steppers.append(None)  # NEXT_STEP autoreset below; its action is ignored
                    continue
                env = genv.env
                steppers.append(env.stepper({env.agent_id: genv.env_action(actions[i])}))
                next(steppers[-1])  # the action applied, the render request queued
            self._batcher.send()  # one render request per engine for every env that stepped
            for st in steppers:  # progress, rewards and infos while the engines render
                if st is not None:
                    next(st)
            self._batcher.take()
            results = [None if st is None else _finish(st) for st in steppers]
        except BaseException:
            for st in steppers:  # envs whose step did not complete roll it back
                if st is not None:
                    st.close()
            self._batcher.queue, self._batcher.inflight = [], []
            raise
        obs, rewards = [], np.zeros(self.num_envs)
        terms, truncs = np.zeros(self.num_envs, bool), np.zeros(self.num_envs, bool)
        infos: list[dict] = []
        for i, (genv, res) in enumerate(zip(self.envs, results)):
            aid = genv.env.agent_id
            if res is None:
                o, info = genv.reset()
            else:
                frames, rew, term, trunc, info_all = res
                o, info = genv._obs(frames[aid]), info_all[aid]
                rewards[i], terms[i], truncs[i] = rew[aid], term, trunc
            obs.append(o)
            infos.append(self._pick(info))
        self._ended = terms | truncs
        self._obs = concatenate(self.single_observation_space, obs, self._obs)
        return self._obs, rewards, terms, truncs, self._gather(infos)

    def _pick(self, info: dict) -> dict:
        if self.info_keys == "all":
            return dict(info)
        if self.info_keys == "cheap":  # what is built already (LazyInfo computes the rest when read)
            return {k: v for k, v in dict.items(info) if k not in LAZY_KEYS}
        return {k: info[k] for k in self.info_keys if k in info}

    def _gather(self, infos: list[dict]) -> dict[str, Any]:
        """Gymnasium's vector info layout (an array per key, a ``_key`` mask), built in one pass
        when every env reports the same keys (as they do), else through ``_add_info``."""
        keys = list(infos[0])
        if any(list(i) != keys for i in infos):
            out: dict[str, Any] = {}
            for n, info in enumerate(infos):
                out = self._add_info(out, info, n)
            return out
        out = {}
        everyone = np.ones(len(infos), dtype=bool)
        for k in keys:
            vals = [i[k] for i in infos]
            v0 = vals[0]
            if isinstance(v0, dict):
                out[k] = self._gather(vals)
            elif isinstance(v0, (bool, np.bool_)):
                out[k] = np.array(vals, dtype=bool)
            elif isinstance(v0, (int, np.integer)) and not isinstance(v0, bool):
                out[k] = (
                    np.array(vals, dtype=np.int64)
                    if all(isinstance(v, int) for v in vals)
                    else _objects(vals)
                )
            elif isinstance(v0, (float, np.floating)):
                out[k] = np.array(vals, dtype=np.float64)
            else:
                out[k] = _objects(vals)
            out["_" + k] = everyone
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


def _objects(vals: list) -> np.ndarray:
    arr = np.empty(len(vals), dtype=object)
    for n, v in enumerate(vals):
        arr[n] = v
    return arr


def make_vec(task: Any, num_envs: int, engine_per: int = 4, **kwargs: Any) -> EmbodiedVectorEnv:
    """``num_envs`` envs of ``task`` batched over ``ceil(num_envs / engine_per)`` engines (see
    :mod:`embodied.vector`); keyword arguments go to each :class:`~embodied.adapters.gym.EmbodiedGymEnv`."""
    return EmbodiedVectorEnv(task, num_envs, engine_per=engine_per, **kwargs)
