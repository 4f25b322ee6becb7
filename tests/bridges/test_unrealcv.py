"""The Unreal bridge end to end: the genuine ``unrealcv`` client and ``UnrealCv_API`` against our
UnrealCV server (a real process), the env on engine="unreal", and the launch path of a real
build played by an executable script. No mocks."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

unrealcv = pytest.importorskip("unrealcv")
from embodied.bridges.unrealcv.backend import UnrealCVEngine  # noqa: E402
from embodied.bridges.unrealcv.launcher import connect, free_port  # noqa: E402
from unrealcv.api import UnrealCv_API  # noqa: E402

import embodied  # noqa: E402
from embodied.env import Env  # noqa: E402
from embodied.errors import ConfigError, EngineError, EngineTimeout  # noqa: E402
from tests.helpers import bench_oracle_rows, oracle_steps  # noqa: E402

CUBE = "/Engine/BasicShapes/Cube.Cube"
pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning"
)  # the client warns on unlisted multi-word commands


def _wait_port(port: int, proc, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server died"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server on {port} did not start")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One UnrealCV server (with an escape room loaded) on TCP and a Unix socket."""
    port = free_port()
    unix = str(tmp_path_factory.mktemp("ucv") / "unrealcv.socket")
    exe = os.path.join(os.path.dirname(sys.executable), "embodied")  # the console script
    cmd = [exe, "engine", "serve", "--protocol", "unrealcv", "--port", str(port)]
    cmd += [
        "--unix",
        unix,
        "--scene",
        "key_door",
        "--width",
        "160",
        "--height",
        "120",
        "--log-level",
        "WARNING",
    ]
    log = tmp_path_factory.mktemp("ucvlog") / "server.log"
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    try:
        _wait_port(port, proc)
        yield {"port": port, "unix": unix, "proc": proc}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert not os.path.exists(unix)


@pytest.fixture
def api(server):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = UnrealCv_API(server["port"], "127.0.0.1", (160, 120))
    yield a
    a.client.disconnect()


def test_unrealcv_api_objects_cameras_images(api):
    assert api.get_server_version() == "1.1.0" and api.supports_command("vget /camera/0/lit png")
    assert not any(t.endswith("_shared") for t in api.api_version.get_supported_command_templates())
    assert {"brass_key", "table", "exit"} <= set(api.get_objects())  # the scene's ids are actor names
    assert api.get_camera_num() == 1 and api.cam[0]["fov"] == "90.000"

    name = api.spawn_object_from_path(CUBE, "probe_box")
    assert name == "probe_box" and "probe_box" in api.get_objects()
    api.set_obj_location("probe_box", [0, 0, 5000])  # high above the room
    api.set_obj_rotation("probe_box", [0, 30, 0])
    api.set_obj_scale("probe_box", [2, 2, 2])
    api.set_obj_color("probe_box", [255, 0, 0])
    assert api.get_obj_location("probe_box") == [0, 0, 5000]
    assert api.get_obj_rotation("probe_box") == [0, 30, 0]  # pitch yaw roll
    assert api.client.request("vget /object/probe_box/color") == "(R=255,G=0,B=0,A=255)"
    assert api.get_obj_uclass("probe_box") == CUBE

    api.set_cam_location(0, [0, 0, 4500])  # look straight up at the box
    api.set_cam_rotation(0, [90, 0, 0])
    api.set_cam_fov(0, 60)
    assert api.get_cam_location(0) == [0, 0, 4500] and api.get_cam_rotation(0) == [90, 0, 0]
    assert api.client.request("vset /camera/0/size 160 120") == "ok"
    png, bmp = api.get_image(0, "lit", "png"), api.get_image(0, "lit", "bmp")
    assert png.shape == bmp.shape == (120, 160, 3) and (png == bmp).all()
    npy = np.load(__import__("io").BytesIO(api.client.request("vget /camera/0/lit npy")))
    assert npy.shape == (120, 160, 4) and (npy[..., 2::-1] == png).all()  # RGBA vs the client's BGR
    depth = api.get_depth(0)
    assert depth.shape == (120, 160, 1) and depth[60, 80, 0] == pytest.approx(400.0, abs=1)  # cm
    mask = api.get_image(0, "object_mask", "bmp")
    assert tuple(mask[60, 80]) == (0, 0, 255)  # BGR of the red mask colour we set
    _m, box = api.get_bbox(mask, "probe_box")  # the client's own mask tooling works on it
    assert box[0][0] < 0.5 < box[1][0]

    api.destroy_obj("probe_box")
    assert "probe_box" not in api.get_objects()
    api.set_cam_pose(0, [0, 0, 170, 0, 0, 0])
    assert "table" in api.get_objects()  # a round trip: the async replies above are all read


def test_bad_commands_get_errors_and_the_server_keeps_serving(api, server):
    req = api.client.request
    for cmd, words in [
        ("vget /no/such/thing", "unknown command"),
        ("vget /object/ghost/location", "unknown object 'ghost'"),
        ("vset /object/table/location 1 two 3", "bad argument"),
        ("vset /object/table/location nan 0 0", "finite"),
        ("vset /objects/spawn_from_path /Game/Nope.Nope x1", "cannot spawn"),
        ("vget /camera/7/location", "no camera 7"),
        ("vget /camera/0/lit out.png", "does not save files"),
        ("vset /camera/0/fov 500", "1..170"),
        ("vset /object/table/color 300 0 0", "0..255"),
    ]:
        reply = req(cmd)
        assert reply.startswith("error") and words in reply, (cmd, reply)
    assert req("vget /unrealcv/version") == "1.1.0"

    # a broken frame drops that connection only; the next client is served
    api.client.disconnect()
    raw = socket.create_connection(("127.0.0.1", server["port"]), timeout=5)
    raw.recv(1024)  # greeting
    raw.sendall(struct.pack("<II", 0xDEADBEEF, 4) + b"0:hi")
    with contextlib.suppress(ConnectionResetError):  # closed, maybe with the bad bytes unread
        assert raw.recv(1024) == b""
    raw.close()
    other = unrealcv.Client(("127.0.0.1", server["port"]))
    assert other.connect() and other.request("vget /unrealcv/version") == "1.1.0"
    other.disconnect()


def test_server_listens_on_loopback_only(server):
    from tests.bridges.net import outside_address, reachable

    outside = outside_address()
    if outside is None:
        pytest.skip("this machine has no non-loopback address")
    assert not reachable(outside, server["port"])


def test_second_client_waits_then_is_served(server):
    first = unrealcv.Client(("127.0.0.1", server["port"]))
    assert first.connect()
    second = unrealcv.Client(("127.0.0.1", server["port"]))
    got = []
    t = threading.Thread(target=lambda: got.append(second.connect()), daemon=True)
    t.start()
    time.sleep(1.0)
    assert not got  # still waiting for its greeting: the first client holds the server
    assert first.request("vget /objects").split()[0] == "floor_hall"
    first.disconnect()
    t.join(10)
    assert got == [True] and second.request("vget /unrealcv/version") == "1.1.0"
    second.disconnect()


def test_our_actions_through_vset_action(server):
    client = unrealcv.Client(server["unix"], "unix")  # the Unix socket UnrealZoo builds offer
    assert client.connect()
    try:
        assert client.request("vset /action/reset") == "ok"
        allowed = client.request("vget /action/allowed").splitlines()
        assert allowed[0] == "0: MoveAhead"
        step = json.loads(client.request("vset /action/do turn left"))
        assert step["success"] and step["action"] == "RotateLeft" and step["step"] == 1
        bad = json.loads(client.request("vset /action/do Open(ghost)"))
        assert not bad["success"] and "ghost" in bad["message"]
        assert json.loads(client.request("vget /action/info"))["step"] == 2
        assert client.request("vset /action/do_as zed MoveAhead").startswith("error unknown agent")
    finally:
        client.request("vset /action/reset")
        client.disconnect()


def test_backend_over_unix_socket(server):
    eng = connect(unix_path=server["unix"], timeout=10)
    try:
        assert isinstance(eng, UnrealCVEngine) and eng.hello()["engine"] == "unreal"
        assert eng.ping() < 2
        with pytest.raises(EngineError, match="raycast is not available"):
            eng.raycast([0, 0, 1], [0, 5, 1])
    finally:
        eng.close()
    assert server["proc"].poll() is None  # not owned: still running


def test_parity_panda3d_vs_unreal_episode():
    """One escape-room episode on both engines: same actions, world states and frame shapes.

    Frames are no longer compared pixel for pixel: the embedded engine draws the models of
    docs/rendering.md (parts, materials, state-posed lids), which the UnrealCV wire does not
    carry (a UE build uses its own assets per type), so the two wires' pictures differ."""
    runs = {}
    for engine in ("panda3d", "unreal"):
        with Env("note_code", engine=engine, width=96, height=72, modalities=("rgb", "segmentation")) as env:
            if engine == "unreal":
                assert isinstance(env.engine, UnrealCVEngine)
            steps = [(str(a), env.get_state(), o, i["success"]) for a, o, i in oracle_steps(env)]
        runs[engine] = steps
    a, b = runs["panda3d"], runs["unreal"]
    assert len(a) == len(b) > 10 and a[-1][3] and b[-1][3]
    for (act_a, st_a, obs_a, _), (act_b, st_b, obs_b, _) in zip(a, b):
        assert act_a == act_b and st_a == st_b
        assert obs_a["rgb"].shape == obs_b["rgb"].shape == (72, 96, 3)
        assert obs_a["segmentation"].shape == obs_b["segmentation"].shape == (72, 96)
        assert obs_a["rgb"].std() > 5 and obs_b["rgb"].std() > 5  # neither wire gives a blank frame


FAKE_UE = """\
#!/bin/sh
# Stands in for a packaged UE binary: logs its arguments, reads its port from the
# unrealcv.ini beside it, and runs an UnrealCV server as a CHILD (so a tree must be killed).
DIR=$(dirname "$0")
echo "$@" > "$DIR/args.txt"
PORT=$(sed -n 's/^Port=//p' "$DIR/unrealcv.ini")
for a in "$@"; do case $a in -ResX=*) W=${a#-ResX=};; -ResY=*) H=${a#-ResY=};; esac; done
echo "fake UE starting on $PORT"
# like UnrealZoo builds: TCP and a Unix socket at /tmp/unrealcv_PORT.socket
"{python}" -m embodied.bridges.unrealcv.server --port "$PORT" --unix "/tmp/unrealcv_$PORT.socket" \
    --width "$W" --height "$H" --log-level WARNING &
echo $! > "$DIR/child.pid"
wait
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_real_build_launch_path(tmp_path):
    binary = tmp_path / "MyGame" / "Binaries" / "Linux" / "MyGame"
    binary.parent.mkdir(parents=True)
    binary.write_text(FAKE_UE.replace("{python}", sys.executable))
    binary.chmod(0o755)
    eng = embodied.launch(
        engine="unreal", build=binary, headless=True, width=160, height=120, log_dir=str(tmp_path), unix=True
    )
    try:
        ini = (binary.parent / "unrealcv.ini").read_text()
        port = int(ini.split("Port=")[1].split()[0])
        assert ini.startswith("[UnrealCV.Core]") and "Width=160" in ini and "Height=120" in ini
        assert eng.transport.endpoint == f"unix:/tmp/unrealcv_{port}.socket"
        args = (binary.parent / "args.txt").read_text().split()
        assert args == ["-RenderOffscreen", "-unattended", "-nosound", "-ResX=160", "-ResY=120"]
        eng.load_scene([{"id": "c", "seg": 3, "shape": "box", "size": [1, 1, 1], "pos": [0, 3, 1]}])
        cam = {"agent": "a0", "pos": [0, 0, 1], "hpr": [0, 0, 0], "fov": 90, "width": 64, "height": 48}
        out = eng.render(["a0"], ["rgb", "depth", "seg"], cameras=[cam])["a0"]
        assert out["rgb"].shape == (48, 64, 3) and out["seg"][24, 32] == 3
        assert out["depth"][24, 32] == pytest.approx(2.5, abs=0.01)
        assert "fake UE starting" in Path(eng.log_path).read_text()
        shell, child = eng.process.pid, int((binary.parent / "child.pid").read_text())
        assert _alive(child)
    finally:
        eng.close()
    deadline = time.monotonic() + 10
    while (_alive(shell) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(shell) and not _alive(child)  # the whole process tree is gone


def test_launch_errors_name_the_build_port_log_and_fix(tmp_path):
    with pytest.raises(EngineError, match="not an executable file"):
        embodied.launch(engine="unreal", build=tmp_path / "missing")
    dies = tmp_path / "Dies"
    dies.write_text("#!/bin/sh\necho 'LogPluginManager: Error: UnrealCV not found'\nexit 3\n")
    dies.chmod(0o755)
    with pytest.raises(EngineError, match=r"(?s)exited with code 3.*UnrealCV not found.*Likely fix"):
        embodied.launch(engine="unreal", build=dies, log_dir=str(tmp_path))
    mute = tmp_path / "Mute"
    mute.write_text("#!/bin/sh\nexec sleep 30\n")
    mute.chmod(0o755)
    t0 = time.monotonic()
    with pytest.raises(EngineTimeout, match=r"(?s)127\.0\.0\.1:\d+.*unreal-\d+\.log.*start_timeout"):
        embodied.launch(engine="unreal", build=mute, log_dir=str(tmp_path), start_timeout=1.0)
    assert time.monotonic() - t0 < 6
    with pytest.raises(EngineError, match=r"cannot connect to the UnrealCV server at 127\.0\.0\.1"):
        connect(port=free_port(), timeout=2)


def test_greeting_timeout_while_busy_and_one_scene_per_level(server):
    holder = unrealcv.Client(("127.0.0.1", server["port"]))
    assert holder.connect()
    t0 = time.monotonic()
    with pytest.raises(EngineError, match=r"(?s)127\.0\.0\.1:\d+.*another client"):
        connect(port=server["port"], timeout=1.0)  # the stock client would wait forever
    assert time.monotonic() - t0 < 5
    holder.disconnect()
    eng = connect(port=server["port"], timeout=10)
    node = [{"id": "probe#1", "seg": 9, "shape": "sphere", "size": [1, 1, 1], "pos": [0, 0, 40]}]
    try:
        first, second = eng.scene(), eng.scene()
        assert first.load(node) == 1 and "probe_1" in eng.batch(["vget /objects"])[0].split()
        with pytest.raises(EngineError, match="holds one scene"):
            second.load(node)
        first.close()
        assert "probe_1" not in eng.batch(["vget /objects"])[0].split()
        assert second.load(node) == 1
        second.close()
    finally:
        eng.close()


@pytest.mark.slow
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("engine", ["unreal", "unity"])
def test_env_restarts_a_killed_bridge_engine_and_restores_the_episode(engine, capsys):
    if engine == "unity":
        pytest.importorskip("mlagents_envs")
    with Env("key_door", engine=engine, width=64, height=48) as env:
        env.reset()
        env.step("RotateLeft")
        pid = env.engine.process.pid
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        obs, _r, _term, _trunc, info = env.step("RotateRight")
        assert time.monotonic() - t0 < 20  # a dead build is noticed at once, not at the request timeout
        assert env.engine_restarts == 1 and env.engine.process.pid != pid
        assert info["lastActionSuccess"] and obs["rgb"].shape == (48, 64, 3)
        if engine == "unreal":  # the dead client's receive thread ends, without a traceback
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _receive_threads() > 1:
                time.sleep(0.05)
            assert _receive_threads() == 1  # (the new client's)
            out = capsys.readouterr().out  # nor prints of its own on the user's stdout
            assert "Connection lost" not in out and "can not receive" not in out, out


def _receive_threads() -> int:
    import threading

    return sum("receive_loop_queue" in t.name for t in threading.enumerate() if t.is_alive())


def test_default_engine_from_the_environment(monkeypatch):
    monkeypatch.setenv("EMBODIED_ENGINE", "unreal")
    with embodied.launch(timeout=30) as eng:  # what code that launches with the defaults gets
        assert isinstance(eng, UnrealCVEngine) and eng.hello()["engine"] == "unreal"
    monkeypatch.setenv("EMBODIED_ENGINE", "nope")
    with pytest.raises(ConfigError, match="unknown engine 'nope'"):
        embodied.launch()


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["unreal", "unity"])
def test_benchmark_runs_unchanged_on_the_bridge(engine, tmp_path):
    """`embodied bench run` with EMBODIED_ENGINE set: the same results as the embedded engine."""
    if engine == "unity":
        pytest.importorskip("mlagents_envs")
    rows = {name: bench_oracle_rows(tmp_path / name, name, 64) for name in ("panda3d", engine)}
    assert rows[engine] == rows["panda3d"] and all(s for s, _ in rows[engine])
