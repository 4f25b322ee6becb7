"""End-to-end tests of the Panda3D engine: real processes, real sockets, no mocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import msgpack
import numpy as np
import pytest
import zmq

from embodied.engine import EngineClient, connect, launch
from embodied.errors import EngineError, EngineTimeout, ProtocolError

MAX_BYTES = 1 << 20
CAM = {"agent": "a0", "pos": [0, -1.5, 1.2], "hpr": [0, 0, 0], "fov": 90, "width": 160, "height": 120}
SCENE = [
    {
        "id": "floor",
        "seg": 1,
        "kind": "floor",
        "shape": "box",
        "size": [6, 6, 0.1],
        "pos": [0, 0, -0.05],
        "color": [0.6, 0.55, 0.5],
    },
    {
        "id": "wall_n",
        "seg": 2,
        "kind": "wall",
        "shape": "box",
        "size": [6, 0.1, 2.5],
        "pos": [0, 3, 1.25],
        "color": [0.8, 0.8, 0.75],
    },
    {"id": "wall_s", "seg": 3, "kind": "wall", "shape": "box", "size": [6, 0.1, 2.5], "pos": [0, -3, 1.25]},
    {"id": "wall_e", "seg": 4, "kind": "wall", "shape": "box", "size": [0.1, 6, 2.5], "pos": [3, 0, 1.25]},
    {"id": "wall_w", "seg": 5, "kind": "wall", "shape": "box", "size": [0.1, 6, 2.5], "pos": [-3, 0, 1.25]},
    {
        "id": "chest",
        "seg": 6,
        "kind": "chest",
        "shape": "box",
        "size": [0.6, 0.6, 0.6],
        "pos": [0.6, 1.0, 0.6],
        "hpr": [30, 0, 0],
        "color": [0.9, 0.1, 0.1],
    },
    {
        "id": "note",
        "seg": 7,
        "kind": "note",
        "shape": "card",
        "size": [0.6, 0, 0.45],
        "pos": [-0.8, 2.9, 1.2],
        "color": [0.95, 0.93, 0.85],
        "text": "The code is 4172",
    },
]


@pytest.fixture(scope="module")
def eng(tmp_path_factory):
    client = launch(log_dir=str(tmp_path_factory.mktemp("logs")), timeout=60, max_message_bytes=MAX_BYTES)
    client.load_scene(SCENE, "test", background=[0.2, 0.2, 0.3])
    client.set_cameras([CAM])
    yield client
    client.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_hello_and_modalities(eng):
    info = eng.hello()
    assert info["engine"] == "panda3d" and info["renderer"] == "software" and info["protocol"] == 2
    assert {"rgb", "depth", "seg"} <= set(info["capabilities"])
    assert eng.ping() < 1.0
    out = eng.render(modalities=("rgb", "depth", "seg"))["a0"]
    rgb, depth, seg = out["rgb"], out["depth"], out["seg"]
    assert rgb.shape == (120, 160, 3) and rgb.dtype == np.uint8 and rgb.flags.c_contiguous
    assert depth.shape == (120, 160) and depth.dtype == np.float32
    assert seg.shape == (120, 160) and seg.dtype == np.int32
    chest = seg == 6
    assert chest.sum() > 200
    r, g, b = (rgb[..., i].astype(int) for i in range(3))
    assert np.all(r[chest] > g[chest] + 40) and np.all(r[chest] > b[chest] + 40)
    assert not np.any((r > g + 60) & (r > b + 60) & ~chest)  # red only where the chest is
    assert np.isfinite(depth[seg > 0]).all() and np.isinf(depth[seg == 0]).all()
    assert depth[chest].max() < depth[seg == 2].min()  # the chest stands before the north wall
    assert 7 in seg and 1 in seg  # note and floor visible
    # z-depth: the wall face at y = 2.95 seen from y = -1.5 straight on, any pixel
    assert np.allclose(depth[seg == 2], 4.45, atol=1e-3)
    # row 0 is the top: the floor is at the bottom
    assert (seg[-1] == 1).all() and not (seg[0] == 1).any()
    again = eng.render(modalities=("rgb", "depth", "seg"))["a0"]
    for m in ("rgb", "depth", "seg"):
        assert np.array_equal(out[m], again[m])
    only_rgb = eng.render()["a0"]
    assert list(only_rgb) == ["rgb"] and np.array_equal(only_rgb["rgb"], rgb)


def test_frames_identical_across_processes(eng, tmp_path):
    first = eng.render(modalities=("rgb", "depth", "seg"))["a0"]
    with launch(log_dir=str(tmp_path), timeout=60) as other:
        other.load_scene(SCENE, "test", background=[0.2, 0.2, 0.3])
        second = other.render(modalities=("rgb", "depth", "seg"), cameras=[CAM])["a0"]
    for m in first:
        assert first[m].tobytes() == second[m].tobytes(), m


def test_update_moves_hides_and_is_atomic(eng):
    base = eng.render(modalities=("rgb", "seg"))["a0"]
    cols0 = np.nonzero((base["seg"] == 6).any(axis=0))[0].mean()
    eng.update([{"id": "chest", "pos": [-0.6, 1.0, 0.6]}])
    moved = eng.render(modalities=("rgb", "seg"))["a0"]
    assert np.nonzero((moved["seg"] == 6).any(axis=0))[0].mean() < cols0 - 10
    hidden = eng.render(modalities=("rgb", "seg"), updates=[{"id": "chest", "visible": False}])["a0"]
    assert 6 not in hidden["seg"] and not np.array_equal(hidden["rgb"], moved["rgb"])
    with pytest.raises(ProtocolError, match="nope"):
        eng.update([{"id": "chest", "visible": True}, {"id": "nope", "pos": [0, 0, 0]}])
    assert eng.ping() < 1.0
    assert 6 not in eng.render(modalities=("seg",))["a0"]["seg"]  # nothing was applied
    eng.update([{"id": "chest", "visible": True, "pos": [0.6, 1.0, 0.6]}])
    assert np.array_equal(eng.render()["a0"]["rgb"], base["rgb"])
    with pytest.raises(ProtocolError, match="pos"):
        eng.update([{"id": "chest", "pos": "north"}])


def test_text_update_and_multi_agent(eng):
    close_up = {
        "agent": "reader",
        "pos": [-0.8, 2.1, 1.2],
        "hpr": [0, 0, 0],
        "fov": 90,
        "width": 224,
        "height": 224,
    }
    a = eng.render(agents=("a0", "reader"), cameras=[close_up])
    assert a["reader"]["rgb"].shape == (224, 224, 3) and a["a0"]["rgb"].shape == (120, 160, 3)
    b = eng.render(agents=("reader",), updates=[{"id": "note", "text": "The code is 9999"}])
    assert not np.array_equal(a["reader"]["rgb"], b["reader"]["rgb"])
    eng.update([{"id": "note", "text": "The code is 4172"}])
    assert np.array_equal(eng.render(agents=("reader",))["reader"]["rgb"], a["reader"]["rgb"])


def test_raycast(eng):
    hit = eng.raycast([0, -1.5, 1.2], [0, 10, 1.2])
    assert hit["hit"] == "wall_n" and hit["seg"] == 2 and abs(hit["distance"] - 4.45) < 1e-6
    assert eng.raycast([0.6, -1, 0.6], [0.6, 3, 0.6])["hit"] == "chest"
    assert eng.raycast([0, 0, 1], [0, 0, 2]) == {"hit": None, "seg": 0, "point": None, "distance": None}


def _raw(endpoint: str, frames: list, timeout_ms: int = 5000) -> dict:
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        sock.send_multipart(frames)
        assert sock.poll(timeout_ms), "no reply"
        return msgpack.unpackb(sock.recv_multipart()[0])
    finally:
        sock.close(0)


H = "HANDLE"  # replaced by the fixture scene's handle


@pytest.mark.parametrize(
    "frames, needle",
    [
        ([b"\xc1not msgpack"], "msgpack"),
        ([msgpack.packb([1, 2])], "map"),
        ([{"op": "explode"}], "unknown op"),
        ([{"noop": 1}], "op"),
        ([{"op": "render", "scene": H, "agents": 5}], "agents"),
        ([{"op": "render", "scene": H, "modalities": ["rgb", "heat"]}], "heat"),
        ([{"op": "render", "agents": ["a0"]}], "scene"),
        ([{"op": "render", "scene": "nope"}], "unknown scene handle"),
        ([{"op": "render", "scene": ["x"] * 1000}], "scene handle"),
        ([{"op": "render", "scenes": [{"scene": H}, {"scene": H}]}], "twice"),
        ([{"op": "render", "scenes": [{"scene": H}, {"agents": ["a0"]}]}], "scenes[1].scene"),
        ([{"op": "camera", "scene": H, "cameras": [{"agent": "a0", "width": "big"}]}], "width"),
        ([{"op": "load_scene", "nodes": [{"id": "x", "seg": 0, "shape": "box"}]}], "seg"),
        (
            [
                {
                    "op": "load_scene",
                    "nodes": [{"id": "x", "seg": 1, "shape": "box", "size": [1, 1, 1], "text": "x" * 10**5}],
                }
            ],
            "at most",
        ),
        ([{"op": "hello", "protocol": 1}], "protocol"),
        ([{"op": "close_scene", "scene": "nope"}], "unknown scene handle"),
        ([{"op": "ping"}, b"\0" * (2 * MAX_BYTES)], "exceeds"),
    ],
)
def test_bad_requests_get_error_replies(eng, frames, needle):
    handle = eng.default_scene.handle

    def fill(v):
        if v == H:
            return handle
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fill(x) for x in v]
        return v

    frames = [msgpack.packb({**fill(f), "token": eng.token}) if isinstance(f, dict) else f for f in frames]
    reply = _raw(eng.endpoint, frames)
    assert reply["ok"] is False and needle in reply["error"]["message"], reply
    assert len(reply["error"]["message"]) < 400
    assert eng.ping() < 1.0
    assert eng.render()["a0"]["rgb"].shape == (120, 160, 3)  # the scene is untouched


def test_token_required(tmp_path):
    with launch(log_dir=str(tmp_path), token="s3cret") as eng:
        assert eng.ping() < 1.0
        reply = _raw(eng.endpoint, [msgpack.packb({"op": "ping"})])
        assert reply["ok"] is False and "token" in reply["error"]["message"]
        with pytest.raises(ProtocolError, match="token"):
            connect(eng.endpoint, token="wrong", timeout=5)
        assert eng.ping() < 1.0


def test_non_local_bind_needs_token_and_curve(tmp_path, monkeypatch, capsys):
    from embodied.bridges.panda3d.server import main

    monkeypatch.delenv("EMBODIED_ENGINE_TOKEN", raising=False)
    assert main(["--host", "0.0.0.0"]) == 2 and "without a token" in capsys.readouterr().err
    monkeypatch.setenv("EMBODIED_ENGINE_TOKEN", "a-long-secret")
    assert main(["--host", "0.0.0.0"]) == 2 and "--curve-secret-file" in capsys.readouterr().err


def test_close_and_timeouts_and_death(tmp_path):
    eng = launch(log_dir=str(tmp_path), timeout=60)
    pid = eng.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(EngineTimeout) as err:
            eng.ping(timeout=0.5)
        assert eng.log_path in str(err.value) and "ping" in str(err.value)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert eng.ping() < 1.0  # the socket is usable after a timeout
    eng.close()
    eng.close()  # idempotent
    assert _wait_gone(pid, 1.0)
    eng2 = launch(log_dir=str(tmp_path), timeout=60)
    os.kill(eng2.process.pid, signal.SIGKILL)
    with pytest.raises(EngineError, match="exited with code"):
        eng2.ping(timeout=10)
    eng2.close()


def test_engine_dies_with_its_parent(tmp_path):
    script = textwrap.dedent(f"""
        import time
        from embodied.engine import launch
        eng = launch(log_dir={str(tmp_path)!r})
        print(eng.process.pid, flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        engine_pid = int(child.stdout.readline())
        assert _alive(engine_pid)
        child.kill()  # SIGKILL: no atexit, no cleanup in the parent
        assert _wait_gone(engine_pid, 5.0), "engine survived kill -9 of its parent"
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_stopped_engine_dies_with_its_parent():
    # a SIGSTOPped engine runs no watchdog: the kernel resumes it when its parent dies
    # (PR_SET_PDEATHSIG), and it exits cleanly; a killed pytest run left it behind in state T
    script = textwrap.dedent("""
        import time
        from embodied.engine import launch
        eng = launch()
        print(eng._tmp_dir, eng.process.pid, flush=True)
        time.sleep(60)
    """)
    _stop_engine_then_kill_its_parent(script, "a stopped engine survived kill -9 of its parent")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_engine_started_by_a_worker_thread_outlives_the_thread_not_the_process():
    # PR_SET_PDEATHSIG follows the thread that forked the engine: launch() from a worker thread
    # used to go without it (a stopped engine then stayed behind in state T when its process died)
    script = textwrap.dedent("""
        import threading, time
        from embodied.engine import launch
        got = []
        t = threading.Thread(target=lambda: got.append(launch()))
        t.start()
        t.join()  # the launching thread is gone
        time.sleep(0.5)
        eng = got[0]
        assert eng.ping() < 5.0  # still serving
        print(eng._tmp_dir, eng.process.pid, flush=True)
        time.sleep(60)
    """)

    def launched_with_the_flag(engine_pid):
        assert _alive(engine_pid)
        with open(f"/proc/{engine_pid}/cmdline", "rb") as f:
            assert b"--die-with-parent" in f.read().split(b"\0")

    _stop_engine_then_kill_its_parent(
        script, "a stopped engine launched by a thread survived its process", launched_with_the_flag
    )


def _stop_engine_then_kill_its_parent(script: str, survived: str, check=None) -> None:
    """Run ``script`` (it prints its engine's temp dir and pid, then sleeps), SIGSTOP the engine,
    kill -9 the script: the engine must go, and take its temp dir with it."""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    engine_pid = None
    try:
        tmp, engine_pid = child.stdout.readline().split()
        engine_pid = int(engine_pid)
        if check:
            check(engine_pid)
        os.kill(engine_pid, signal.SIGSTOP)
        child.kill()
        assert _wait_gone(engine_pid, 5.0), survived
        assert not os.path.exists(tmp), "and left its temp log dir behind"
    finally:
        child.kill()
        child.wait()
        if engine_pid and _alive(engine_pid):  # never leave a stopped engine behind
            os.kill(engine_pid, signal.SIGCONT)
            os.kill(engine_pid, signal.SIGKILL)


def test_a_hung_engine_ends_itself_after_its_parent_is_gone(tmp_path):
    # the serving loop's watchdog cannot run while the main thread hangs: the orphan guard thread
    # removes the temp dir and exits (here the "engine" main thread just sleeps)
    parent = subprocess.Popen(["sleep", "60"])
    cleanup = tmp_path / "engine-tmp"
    cleanup.mkdir()
    script = (
        "import time\nfrom embodied.bridges.panda3d.server import _guard_orphan\n"
        f"_guard_orphan({parent.pid}, False, {str(cleanup)!r}, grace=0.5)\nprint('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    hung = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert hung.stdout.readline().strip() == "up"
        time.sleep(1.0)
        assert hung.poll() is None and cleanup.exists()  # the parent lives: nothing happens
        parent.kill()
        parent.wait()
        assert hung.wait(timeout=5) == 1 and not cleanup.exists()
    finally:
        for proc in (parent, hung):
            proc.kill()
            proc.wait()


def test_engine_launched_from_a_thread_outlives_the_thread(tmp_path):
    # the kernel's parent-death signal follows the spawning THREAD: launch() asks for it only on
    # the main thread, so an engine started by a worker thread keeps serving after it ends
    import threading

    got = []
    t = threading.Thread(target=lambda: got.append(launch(log_dir=str(tmp_path))))
    t.start()
    t.join()
    with got[0] as eng:
        time.sleep(0.5)
        assert eng.ping() < 1.0


def test_connect_does_not_own(eng):
    other = connect(eng.endpoint, token=eng.token, timeout=5)
    assert isinstance(other, EngineClient) and other.process is None
    other.close()
    assert eng.ping() < 1.0
