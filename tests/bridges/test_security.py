"""Tokens (never on a command line, never blank), CURVE encryption, temp dirs, API keys.

On the previous main the token was an argv option (readable in ps), a launched engine took
requests from any local user, whitespace tokens were accepted, there was no encryption, and a
temp log dir was left behind per engine after a parent SIGKILL.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap
import time

import msgpack
import pytest
import zmq
from embodied.bridges.panda3d.server import main as serve

from embodied import auth
from embodied.engine import connect, launch
from embodied.errors import ConfigError, EngineTimeout, ProtocolError


def _raw(endpoint: str, header: dict, timeout_ms: int = 3000):
    sock = zmq.Context.instance().socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        sock.send(msgpack.packb(header))
        if not sock.poll(timeout_ms):
            return None
        return msgpack.unpackb(sock.recv_multipart()[0])
    finally:
        sock.close(0)


def test_launch_gives_a_random_token_kept_off_the_command_line(tmp_path):
    with launch(log_dir=str(tmp_path)) as eng:
        assert eng.token and len(eng.token) >= 32
        with open(f"/proc/{eng.process.pid}/cmdline", "rb") as f:
            assert eng.token.encode() not in f.read()
        reply = _raw(eng.endpoint, {"op": "close"})  # another local user, without the token
        assert reply["ok"] is False and "token" in reply["error"]["message"]
        assert eng.ping() < 1.0  # still serving its owner
        assert connect(eng.endpoint, token=eng.token, timeout=5).ping() < 1.0
        with pytest.raises(ProtocolError, match="token"):
            connect(eng.endpoint, token="wrong-token", timeout=5)
    for path in glob.glob(str(tmp_path / "*")):
        with open(path, errors="replace") as f:
            assert eng.token not in f.read(), path  # not in the log either


def test_token_from_env_and_file_and_blank_refused(tmp_path, monkeypatch, capsys):
    for blank in ("", "   ", "\t\n"):
        with pytest.raises(ConfigError, match="whitespace"):
            auth.check_token(blank)
    with pytest.raises(ConfigError):
        launch(token="  ", log_dir=str(tmp_path))
    f = tmp_path / "tok"
    f.write_text(" \n")
    assert serve(["--token-file", str(f)]) == 2 and "whitespace" in capsys.readouterr().err
    assert serve(["--token", "abc"]) == 2 and "ps" in capsys.readouterr().err
    f.write_text("from-a-file\n")
    assert auth.read_token(str(f)) == "from-a-file"
    assert auth.read_token(environ={auth.TOKEN_ENV: "from-env"}) == "from-env"
    monkeypatch.setenv(auth.TOKEN_ENV, "   ")
    assert serve([]) == 2 and "whitespace" in capsys.readouterr().err


def test_curve_encrypts_and_rejects_plaintext(tmp_path):
    with launch(log_dir=str(tmp_path), curve=True) as eng:
        assert eng.ping() < 1.0
        assert _raw(eng.endpoint, {"op": "ping", "token": eng.token}, timeout_ms=1000) is None  # no handshake
        other_key, _ = auth.make_keys(str(tmp_path / "other"), "server")  # someone else's server key
        with pytest.raises(EngineTimeout):
            connect(eng.endpoint, token=eng.token, timeout=1.0, curve_server_key=other_key)
        key = glob.glob(str(tmp_path / "keys-*" / "server.key"))[0]
        assert connect(eng.endpoint, token=eng.token, timeout=5, curve_server_key=key).ping() < 1.0
    assert not glob.glob(str(tmp_path / "keys-*")), "the key pair is removed with the engine"


def test_temp_log_dirs_are_removed_after_clean_exits():
    eng = launch()
    tmp = eng._tmp_dir
    assert os.path.isdir(tmp)
    eng.close()
    assert not os.path.exists(tmp)
    script = textwrap.dedent("""
        import time
        from embodied.engine import launch
        eng = launch()
        print(eng._tmp_dir, eng.process.pid, flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        tmp, _pid = child.stdout.readline().split()
        assert os.path.isdir(tmp)
        child.kill()  # parent SIGKILL: no atexit, no cleanup in the parent
        deadline = time.monotonic() + 8
        while os.path.exists(tmp) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(tmp), "the engine's temp log dir survived a parent SIGKILL"
    finally:
        child.kill()
        child.wait()
