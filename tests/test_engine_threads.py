"""The engine process's environment: OpenCV and OpenBLAS on one thread each (their idle workers
spin); what the caller set wins."""

from embodied.engine import _child_env, launch


def test_engine_process_runs_one_opencv_and_one_openblas_thread(monkeypatch):
    monkeypatch.delenv("OPENCV_FOR_THREADS_NUM", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    eng = launch()
    try:
        with open(f"/proc/{eng.process.pid}/environ", "rb") as f:
            environ = f.read().split(b"\0")
    finally:
        eng.close()
    assert b"OPENCV_FOR_THREADS_NUM=1" in environ
    assert b"OPENBLAS_NUM_THREADS=2" in environ  # (the caller's own value)


def test_child_env_keeps_the_callers_thread_counts_and_drops_secrets():
    env = _child_env({"OPENCV_FOR_THREADS_NUM": "4", "PATH": "/bin", "OPENAI_API_KEY": "sk-x"}, "t")
    assert (env["OPENCV_FOR_THREADS_NUM"], env["OPENBLAS_NUM_THREADS"], env["PATH"]) == ("4", "1", "/bin")
    assert "OPENAI_API_KEY" not in env
