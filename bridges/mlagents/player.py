"""``embodied-unity-player``: the Unity side of ML-Agents (communication 1.5.0), played by the
embedded engine, so ``UnityEnvironment(file_name=shutil.which("embodied-unity-player"))`` trains
on our scenes and the genuine ``mlagents_envs`` client is tested end to end.

Launched by ``UnityEnvironment`` with ``[-nographics -batchmode] --mlagents-port PORT [-logFile F]``
plus ``additional_args``: ``--scene NAME`` (a task or shipped scene; default
``escape/key-door``), ``--width/--height`` (pixels), ``--behavior NAME``,
``--renderer``, ``--render-only`` (no task: the Python side sends scene nodes, as the
``engine="unity"`` backend does), ``--parent-pid``. Other Unity options are ignored.

It connects (gRPC, to 127.0.0.1 only) to the Python side, sends its initialization output
(brain parameters and first observations), then answers every RESET/STEP with agent infos;
status 400 (``close()``) ends it, and so does a lost connection. Its log goes to ``-logFile``.

Task mode: behavior ``Embodied?team=0``; one ML-Agents agent per scene agent (a new agent id each
episode); one visual observation (H, W, 3) PNG; one discrete branch: the scene's fixed action
table (:mod:`embodied.adapters.discrete`, the same as the Gymnasium Discrete mode; ``EnterCode``
types the code the agent has learned), entries not offered right now are masked; reward and done from the
env (``max_step_reached`` when the step budget ran out). After each step, a scene-channel event
``{"event": "step", "info": {agent: {...}}}`` carries the metadata. Scene-channel ops:
``set_scene`` (from the next reset), ``info``.

Render mode: behavior ``Camera?team=0``; ops ``load_scene``/``update``/``camera``/``render`` apply
to an in-process renderer; each ``render`` makes the requested cameras the agents of this step
(ids 0..n-1 in request order), rgb as their visual observation, depth/seg in the reply.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time

import numpy as np
from embodied.bridges.mlagents import channel as C

from embodied.errors import ConfigError, ProtocolError

log = logging.getLogger("embodied.unity.player")
API_VERSION = "1.5.0"


def parse_args(argv):
    from embodied.cli import Parser, add_renderer_option, int_in, positive_float  # one-line usage errors

    p = Parser(
        prog="embodied-unity-player",
        description="The Unity side of ML-Agents (communication 1.5.0), played by the embedded engine: "
        'UnityEnvironment(file_name=shutil.which("embodied-unity-player")) trains on embodied scenes. '
        "Other Unity options are ignored. See docs/unity.md.",
    )
    p.add_argument(
        "--mlagents-port",
        type=int_in(1, 65535),
        default=5004,
        help="the trainer's gRPC port on 127.0.0.1 (default: %(default)s)",
    )
    p.add_argument("-logFile", "--log-file", dest="log_file", help="write the log here (Unity's -logFile)")
    p.add_argument("-nographics", action="store_true", help="accepted and ignored (always headless)")
    p.add_argument("-batchmode", action="store_true", help="accepted and ignored")
    p.add_argument(
        "--scene", default="escape/key-door", help="registered task or shipped scene (default: %(default)s)"
    )
    p.add_argument(
        "--width",
        type=int_in(16, 4096),
        default=84,
        help="observation width in pixels (default: %(default)s)",
    )
    p.add_argument(
        "--height",
        type=int_in(16, 4096),
        default=84,
        help="observation height in pixels (default: %(default)s)",
    )
    p.add_argument(
        "--behavior", default=None, help="behavior name (default: Embodied, or Camera with --render-only)"
    )
    add_renderer_option(p)
    p.add_argument(
        "--render-only",
        action="store_true",
        help="no task: render scene nodes the Python side sends (engine='unity')",
    )
    p.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    p.add_argument(
        "--connect-timeout",
        type=positive_float("timeout", "seconds"),
        default=60.0,
        help="seconds to wait for the trainer (default: %(default)s)",
    )
    args, _unity_options = p.parse_known_args(argv)
    return args


def png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class Game:
    """What the player shows: a task (our Env) or scenes sent by the Python side."""

    def __init__(self, args):
        from embodied.bridges.mlagents.local_engine import LocalEngine

        self.args = args
        self.engine = LocalEngine(args.renderer)
        self.render_only = args.render_only
        self.behavior = f"{args.behavior or ('Camera' if self.render_only else 'Embodied')}?team=0"
        self.size = (args.height, args.width)
        self.next_scene = args.scene
        self.env = None
        self.ids: dict[str, int] = {}
        self._next_id = 0
        self.scene = None
        self.frames: dict[str, np.ndarray] = {}
        self.order: list[str] = []
        self.events: list[dict] = []
        self.spec_dirty = True
        if not self.render_only:
            self._new_env()

    # ------------------------------------------------------------ task mode
    def _new_env(self) -> None:
        from embodied.env import Env

        if self.env is not None:
            self.env.close()
        from embodied.adapters.discrete import build_table

        self.env = Env(self.next_scene, engine=self.engine, width=self.args.width, height=self.args.height)
        self.loaded_scene = self.next_scene
        tables = {aid: build_table(self.env.world, aid) for aid in self.env.world.agent_ids}
        if len({len(t) for t in tables.values()}) != 1:
            raise ConfigError(
                f"scene {self.next_scene!r}: the agents' action tables differ in size; the Unity player needs agents "
                "with the same actions (same objects in reach of each)"
            )
        size = len(next(iter(tables.values())))
        self.spec_dirty = self.spec_dirty or size != getattr(self, "table_size", size)
        self.tables, self.table_size = tables, size
        self.obs, self.info = self.env.reset_all()
        self._new_ids()

    def _new_ids(self) -> None:
        self.ids = {}
        for aid in self.env.world.agent_ids:
            self.ids[aid] = self._next_id
            self._next_id += 1

    def reset(self) -> None:
        if self.render_only:
            return
        if self.next_scene != self.loaded_scene:
            self._new_env()
        else:
            self.obs, self.info = self.env.reset_all()
            self._new_ids()

    def step(self, actions: list) -> list:
        """One step; returns the agent infos (terminal ones first after an episode ends)."""
        if self.render_only:
            return self._camera_infos()
        from embodied.adapters.discrete import resolve

        env = self.env
        chosen = {}
        for aid, act in zip(env.world.agent_ids, actions):
            table = self.tables[aid]
            k = int(act.discrete_actions[0]) if act is not None and len(act.discrete_actions) else -1
            chosen[aid] = resolve(env.world, aid, table[k]) if 0 <= k < len(table) else f"invalid action {k}"
        obs, rew, term, trunc, info = env.step_all(chosen)
        self.obs, self.info = obs, {**self.info, **info}
        self.events.append(
            {"id": 0, "ok": True, "event": "step", "info": {a: _lite(i) for a, i in info.items()}}
        )
        out = self._task_infos(rew, done=term or trunc, truncated=trunc and not term)
        if term or trunc:
            self.obs, self.info = env.reset_all()  # the next episode starts at once, with new agent ids
            self._new_ids()
            out += self._task_infos({a: 0.0 for a in self.ids}, False, False)
        return out

    def _task_infos(self, rewards, done, truncated) -> list:
        from mlagents_envs.communicator_objects.agent_info_pb2 import AgentInfoProto

        out = []
        for aid in self.env.world.agent_ids:
            offered = {_key(a) for a in self.env.allowed_actions(aid)}
            info = AgentInfoProto(
                reward=float(rewards.get(aid, 0.0)),
                done=done,
                max_step_reached=truncated,
                id=self.ids[aid],
                action_mask=[_key(a) not in offered for a in self.tables[aid]],  # True: masked
            )
            info.observations.append(_visual(self.obs[aid]["rgb"]))
            out.append(info)
        return out

    def brain(self):
        from mlagents_envs.communicator_objects.brain_parameters_pb2 import (
            ActionSpecProto,
            BrainParametersProto,
        )

        k = 1 if self.render_only else self.table_size
        return BrainParametersProto(
            brain_name=self.behavior,
            is_training=True,
            action_spec=ActionSpecProto(num_discrete_actions=1, discrete_branch_sizes=[k]),
            vector_action_size_deprecated=[k],
            vector_action_space_type_deprecated=0,
        )

    def infos(self) -> list:
        """The current agent infos (first message and after RESET)."""
        if self.render_only:
            return self._camera_infos()
        return self._task_infos({}, False, False)

    # ------------------------------------------------------------ render mode
    def _camera_infos(self) -> list:
        from mlagents_envs.communicator_objects.agent_info_pb2 import AgentInfoProto

        if not self.order:  # nothing rendered yet: one black frame so the spec has a shape
            return [self._blank()]
        out = []
        for k, name in enumerate(self.order):
            info = AgentInfoProto(reward=0.0, done=False, id=k, action_mask=[False])
            info.observations.append(_visual(self.frames[name]))
            out.append(info)
        return out

    def _blank(self):
        from mlagents_envs.communicator_objects.agent_info_pb2 import AgentInfoProto

        info = AgentInfoProto(reward=0.0, done=False, id=0, action_mask=[False])
        info.observations.append(_visual(np.zeros((*self.size, 3), np.uint8)))
        return info

    def command(self, msg: dict) -> dict:
        """One scene-channel request -> its reply (errors are replies, never raised)."""
        rid = msg.get("id", 0)
        op = msg.get("op")
        try:
            if op == "set_scene":
                self.next_scene = str(msg["scene"])
                return {"id": rid, "ok": True}
            if op == "info":
                if self.env is None:
                    return {"id": rid, "ok": True, "info": {}}
                return {"id": rid, "ok": True, "info": {a: _lite(i) for a, i in self.info.items()}}
            if op not in ("load_scene", "update", "camera", "render"):
                raise ProtocolError(
                    f"unknown op {op!r}; expected set_scene, info, load_scene, update, camera, render"
                )
            if not self.render_only:
                raise ConfigError(f"{op!r} needs a player started with --render-only")
            if op == "load_scene":
                if self.scene is None:
                    self.scene = self.engine.scene()
                n = self.scene.load(msg.get("nodes", []), msg.get("name", ""), msg.get("background"))
                return {"id": rid, "ok": True, "nodes": n}
            if self.scene is None or self.scene.handle is None:
                raise ProtocolError(f"{op!r} before load_scene; send load_scene first")
            if op == "update":
                return {"id": rid, "ok": True, "updated": self.scene.update(msg.get("updates", []))}
            if op == "camera":
                self.scene.set_cameras(msg.get("cameras", []))
                return {"id": rid, "ok": True}
            return self._render(rid, msg)
        except Exception as exc:
            return {"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def _render(self, rid, msg) -> dict:
        agents = list(msg.get("agents", ["a0"]))
        mods = list(msg.get("modalities", ["rgb"]))
        wire = sorted(set(mods) | {"rgb"}, key=["rgb", "depth", "seg"].index)
        out = self.scene.render(agents, wire, msg.get("updates"), msg.get("cameras"))
        shapes = {out[a]["rgb"].shape[:2] for a in agents}
        if len(shapes) != 1:
            raise ProtocolError(
                f"all cameras of one render must have one size, got {sorted(shapes)}; give them one width and height"
            )
        size = shapes.pop()
        if size != self.size:
            self.size, self.spec_dirty = size, True
        self.order = agents
        self.frames = {a: out[a]["rgb"] for a in agents}
        extra = {}
        for a in agents:
            for m in ("depth", "seg"):
                if m in mods:
                    extra.setdefault(a, {})[m] = np.ascontiguousarray(out[a][m]).tobytes()
        return {"id": rid, "ok": True, "agents": agents, "size": list(size), "buffers": extra}

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
        self.engine.close()


def _key(action) -> tuple:
    """An action without its code, so a table's ``EnterCode(t, ?)`` matches the offered ``EnterCode(t, <code>)``."""
    return (action.name, action.args[:1]) if action.name == "EnterCode" else (action.name, tuple(action.args))


def _visual(rgb: np.ndarray):
    from mlagents_envs.communicator_objects.observation_pb2 import ObservationProto

    h, w = rgb.shape[:2]
    return ObservationProto(shape=[h, w, 3], compression_type=1, compressed_data=png(rgb))


def _lite(info: dict) -> dict:
    keys = (
        "lastActionSuccess",
        "errorMessage",
        "action",
        "inventory",
        "progress",
        "success",
        "step",
        "agent",
    )
    return {k: info.get(k) for k in keys}


def _message(game: Game, infos: list, replies: list[dict], first: bool = False):
    from mlagents_envs.communicator_objects.capabilities_pb2 import UnityRLCapabilitiesProto
    from mlagents_envs.communicator_objects.header_pb2 import HeaderProto
    from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto

    msg = UnityMessageProto(header=HeaderProto(status=200))
    out = msg.unity_output
    if first or game.spec_dirty:
        init = out.rl_initialization_output
        if first:
            from embodied import __version__

            init.name = "embodied-unity-player"
            init.communication_version = API_VERSION
            init.package_version = f"embodied-{__version__}"
            init.capabilities.CopyFrom(
                UnityRLCapabilitiesProto(
                    baseRLCapabilities=True,
                    concatenatedPngObservations=True,
                    compressedChannelMapping=True,
                    hybridActions=True,
                    trainingAnalytics=True,
                    variableLengthObservation=True,
                    multiAgentGroups=True,
                )
            )
        init.brain_parameters.append(game.brain())
        game.spec_dirty = False
    out.rl_output.agentInfos[game.behavior].value.extend(infos)
    events, game.events = game.events, []
    data = b"".join(C.frame(C.pack(r)) for r in [*events, *replies])
    if data:
        out.rl_output.side_channel = data
    return msg


def _side_requests(data: bytes) -> list[dict]:
    out = []
    try:
        for cid, payload in C.frames(data):
            if cid != C.CHANNEL_ID:
                continue  # e.g. the trainer's analytics channel: not ours
            try:
                out.append(C.unpack(payload))
            except Exception as exc:
                out.append({"id": -1, "op": None, "_error": f"unreadable message: {exc}"})
    except ProtocolError as exc:
        log.warning("malformed side-channel data: %s", exc)
    return out


def play(args) -> int:
    import grpc
    from embodied.bridges.panda3d.server import ParentWatch
    from mlagents_envs.communicator_objects.command_pb2 import RESET, STEP
    from mlagents_envs.communicator_objects.header_pb2 import HeaderProto
    from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto
    from mlagents_envs.communicator_objects.unity_to_external_pb2_grpc import UnityToExternalProtoStub

    target = f"127.0.0.1:{args.mlagents_port}"
    channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 256 << 20)])
    try:
        grpc.channel_ready_future(channel).result(timeout=args.connect_timeout)
    except grpc.FutureTimeoutError:
        log.error("no ML-Agents trainer listening on %s within %g s", target, args.connect_timeout)
        return 3
    stub = UnityToExternalProtoStub(channel)
    game = Game(args)
    log.info(
        "connected to %s; %s, behavior %s",
        target,
        "render-only" if args.render_only else args.scene,
        game.behavior,
    )
    try:
        reply = stub.Exchange(_message(game, game.infos(), [], first=True))
        seed = reply.unity_input.rl_initialization_input.seed
        log.info("trainer %s, seed %d", reply.unity_input.rl_initialization_input.package_version, seed)
        reply = stub.Exchange(UnityMessageProto(header=HeaderProto(status=200)))
        steps = 0
        parent = ParentWatch(args.parent_pid)
        while reply.header.status == 200:
            rl_in = reply.unity_input.rl_input
            replies = []
            for req in _side_requests(rl_in.side_channel):
                if "_error" in req:
                    replies.append({"id": -1, "ok": False, "error": req["_error"]})
                else:
                    replies.append(game.command(req))
            if rl_in.command == RESET:
                game.reset()
                infos = game.infos()
            elif rl_in.command == STEP:
                acts = (
                    list(rl_in.agent_actions[game.behavior].value)
                    if game.behavior in rl_in.agent_actions
                    else []
                )
                n = 1 if game.render_only else len(game.env.world.agent_ids)
                infos = game.step(acts + [None] * (n - len(acts)))
                steps += 1
            else:  # QUIT
                break
            reply = stub.Exchange(_message(game, infos, replies))
            if parent.gone():
                break
        log.info("closed by the trainer (status %d) after %d steps", reply.header.status, steps)
        return 0
    except grpc.RpcError as exc:
        log.warning("the trainer went away: %s", exc.code() if hasattr(exc, "code") else exc)
        return 0
    finally:
        game.close()
        channel.close()


def main(argv: list[str] | None = None) -> int:
    # gRPC's core logs the trainer's expected shutdown (its GOAWAY) at INFO level straight to this
    # process's stderr, which is the user's terminal: show its errors only, unless the user chose
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    handlers = [logging.FileHandler(args.log_file)] if args.log_file else [logging.StreamHandler(sys.stderr)]
    logging.basicConfig(
        level=logging.INFO, handlers=handlers, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    t0 = time.monotonic()
    try:
        return play(args)
    except Exception:
        log.exception("the player crashed after %.1f s", time.monotonic() - t0)
        return 1


if __name__ == "__main__":
    sys.exit(main())
