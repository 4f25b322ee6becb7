"""The engine process runs OpenCV and OpenBLAS on one thread each (their idle workers spin)."""

from embodied.engine import launch


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        pairs = [item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item]
    return {k.decode(): v.decode() for k, v in pairs}


def test_engine_runs_opencv_and_openblas_on_one_thread(monkeypatch):
    monkeypatch.delenv("OPENCV_FOR_THREADS_NUM", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    eng = launch()
    try:
        environ = _environ(eng.process.pid)
    finally:
        eng.close()
    assert environ["OPENCV_FOR_THREADS_NUM"] == "1"
    assert environ["OPENBLAS_NUM_THREADS"] == "1"


def test_a_thread_count_the_caller_set_wins(monkeypatch):
    monkeypatch.setenv("OPENCV_FOR_THREADS_NUM", "2")
    eng = launch()
    try:
        environ = _environ(eng.process.pid)
    finally:
        eng.close()
    assert environ["OPENCV_FOR_THREADS_NUM"] == "2"
    assert environ["OPENBLAS_NUM_THREADS"] == "1"
