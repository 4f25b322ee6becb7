"""Run benchmark episodes: in this process, in a local process pool, or on Ray; resumable.

Each worker owns one engine process (launched on its first episode, relaunched after a
crash). Workers only run episodes and return result lines; the parent alone writes the run
directory (:mod:`embodied.bench.rundir`), so appends never interleave.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import episode as episode_mod
from .metrics import aggregate
from .rundir import RunDir
from .suites import Episode, Suite

_ENGINE = None


def _engine(restart: bool):
    """This worker's engine client (launched once; a fresh one after a crash)."""
    global _ENGINE
    from ..engine import launch

    if _ENGINE is not None and (
        restart or (_ENGINE.process is not None and _ENGINE.process.poll() is not None)
    ):
        with contextlib.suppress(Exception):
            _ENGINE.close()
        _ENGINE = None
    if _ENGINE is None:
        _ENGINE = launch()
        atexit.register(_close_engine)
    return _ENGINE


def _close_engine() -> None:
    global _ENGINE
    if _ENGINE is not None:
        try:
            _ENGINE.close()
        finally:
            _ENGINE = None


@dataclass
class Job:
    suite: Suite
    episode: Episode
    agent: str
    agent_options: dict[str, Any]
    staging: str | None
    size: int
    frames: str


def run_job(job: Job) -> dict[str, Any]:
    """Run one job with this process's engine (the worker entry point)."""
    out = Path(job.staging) if job.staging else None
    return episode_mod.run(
        job.suite, job.episode, job.agent, job.agent_options, _engine, out, job.size, job.frames
    )


@dataclass
class RunSpec:
    suites: list[Suite]
    agent: str
    out: Path
    agent_options: dict[str, Any] = field(default_factory=dict)
    tiers: list[str] | None = None
    episodes: int | None = None
    seeds: list[int] | None = None
    workers: int = 1
    ray: str | None = None
    size: int = 224
    frames: str = "gif"

    def episode_list(self) -> list[tuple[Suite, Episode]]:
        out = []
        for s in self.suites:
            tiers = [t for t in (self.tiers or []) if any(x.tier == t for x in s.tiers)] or None
            out += [(s, e) for e in s.episodes(tiers, self.episodes, self.seeds)]
        return out

    def config(self, package_version: str) -> dict[str, Any]:
        return {
            "format": "embodied.bench.run/1",
            "package_version": package_version,
            "suites": {s.name: {"version": s.version, "definition": s.definition_hash} for s in self.suites},
            "agent": self.agent,
            "agent_options": _redact(self.agent_options),
            "tiers": self.tiers,
            "episodes_per_tier": self.episodes,
            "seeds": self.seeds,
            "size": self.size,
            "frames": self.frames,
            "workers": self.workers,
            "ray": self.ray,
            "episodes": [e.key for _, e in self.episode_list()],
        }


def _redact(opts: dict[str, Any]) -> dict[str, Any]:
    """Agent options as recorded: never an API key (keys come from the environment anyway)."""
    return {
        k: ("<redacted>" if "key" in k.lower() and "env" not in k.lower() else v) for k, v in opts.items()
    }


def run(
    spec: RunSpec,
    on_result: Callable[[dict[str, Any], int, int], None] | None = None,
    on_step=None,
) -> dict[str, Any]:
    """Run every episode not yet in ``spec.out``; return the run's metrics (also written)."""
    from .. import __version__

    rd = RunDir(spec.out)
    made = rd.start(spec.config(__version__))
    try:
        return _run(spec, rd, on_result, on_step)
    except Exception:  # failed at set-up (no engine, a broken agent): leave no half run directory
        if made is not None and not rd.results():  # that a later resume or report takes for a run
            rd.discard(made)
        raise


def _run(spec: RunSpec, rd: RunDir, on_result, on_step) -> dict[str, Any]:
    done = rd.done_keys()
    todo = [(s, e) for s, e in spec.episode_list() if e.key not in done]
    total = len(spec.episode_list())
    finished = total - len(todo)

    def job(s: Suite, e: Episode) -> Job:
        staging = str(rd.staging_dir(e.key)) if spec.frames != "none" else None
        return Job(s, e, spec.agent, spec.agent_options, staging, spec.size, spec.frames)

    def commit(result: dict[str, Any]) -> None:
        nonlocal finished
        staged = rd.path / "staging" / result["key"].replace("/", "_")
        rd.commit(result, staged if spec.frames != "none" else None)
        finished += 1
        if on_result:
            on_result(result, finished, total)

    if not todo:
        pass
    elif spec.ray:
        _run_ray(spec, [job(s, e) for s, e in todo], commit)
    elif spec.workers <= 1:
        try:
            for s, e in todo:
                j = job(s, e)
                out = Path(j.staging) if j.staging else None
                commit(
                    episode_mod.run(
                        s,
                        e,
                        spec.agent,
                        spec.agent_options,
                        _engine,
                        out,
                        spec.size,
                        spec.frames,
                        on_step=on_step,
                    )
                )
        finally:
            _close_engine()
    else:
        ctx = mp.get_context("spawn")
        pool = cf.ProcessPoolExecutor(max_workers=spec.workers, mp_context=ctx)
        try:
            futures = [pool.submit(run_job, job(s, e)) for s, e in todo]
            for f in cf.as_completed(futures):
                commit(f.result())
        except BaseException:  # Ctrl-C or an error: stop now; what was committed stays
            workers = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for w in workers:  # (their engines see their parent go and exit)
                with contextlib.suppress(Exception):
                    w.terminate()
            # let the pool's manager thread see its workers gone and close its wake-up pipe before
            # the interpreter exits: else concurrent.futures' exit hook can write to the pipe as the
            # thread closes it and print an OSError traceback (Python 3.11; seen after Ctrl-C)
            manager = getattr(pool, "_executor_manager_thread", None)
            if manager is not None:
                manager.join(timeout=2.0)
            raise
        pool.shutdown()
    shutil.rmtree(rd.path / "staging", ignore_errors=True)
    metrics = aggregate(rd.results())
    metrics["run"] = {
        "dir": str(rd.path),
        "agent": spec.agent,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    rd.write_metrics(metrics)
    return metrics


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """SuiteError (one line) unless ``address`` is ``local``/``auto`` or a Ray head answers there:
    ``ray.init`` on an address where nothing listens retries for minutes, printing warnings."""
    import socket

    from .suites import SuiteError

    if address in ("local", "auto"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise SuiteError(f"--ray {address}: give HOST:PORT (a Ray head), ray://HOST:PORT, or local")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise SuiteError(
            f"--ray {address}: nothing answers at {host}:{port} ({why}); start a head there "
            "('ray start --head') or use --ray local"
        ) from None


def _run_ray(spec: RunSpec, jobs: list[Job], commit) -> None:
    try:
        import ray
    except ImportError:
        from .suites import SuiteError

        raise SuiteError("--ray needs the optional extra: pip install 'embodied[ray]'") from None
    ray.init(address=None if spec.ray == "local" else spec.ray, ignore_reinit_error=True, log_to_driver=False)

    @ray.remote(num_cpus=1)
    class Worker:
        def run(self, job: Job) -> dict[str, Any]:
            return run_job(job)

        def close(self) -> None:
            _close_engine()

    n = max(1, spec.workers)
    actors = [Worker.remote() for _ in range(n)]
    pending: dict[Any, Any] = {}
    queue = list(jobs)
    try:
        for a in actors:
            if queue:
                pending[a.run.remote(queue.pop(0))] = a
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            a = pending.pop(ready[0])
            commit(ray.get(ready[0]))
            if queue:
                pending[a.run.remote(queue.pop(0))] = a
    finally:
        ray.get([a.close.remote() for a in actors])
        for a in actors:
            ray.kill(a)
