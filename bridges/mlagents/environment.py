"""``UnityEnvironment`` as ML-Agents 0.28 ships it, bound to 127.0.0.1, on a port nobody else holds.

The stock communicator binds every interface (``[::]:PORT``) with ``SO_REUSEPORT``, so two trainers
can both "own" one port and talk to each other's players (``UnityWorkerInUseException`` is the lucky
outcome). :func:`open_unity` picks a free port, holds an exclusive lock file for it while the
environment lives (so parallel processes never pick the same one), binds the gRPC server to
127.0.0.1 without ``SO_REUSEPORT``, and retries on another port when the bind fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor

LOCK_DIR = os.path.join(tempfile.gettempdir(), "embodied-mlagents-ports")


def _classes():
    import grpc
    from mlagents_envs.environment import UnityEnvironment
    from mlagents_envs.exception import UnityWorkerInUseException
    from mlagents_envs.rpc_communicator import (
        RpcCommunicator,
        UnityToExternalServicerImplementation,
        add_UnityToExternalProtoServicer_to_server,
    )

    class LocalRpcCommunicator(RpcCommunicator):
        """The stock communicator, serving on 127.0.0.1 only and never sharing its port."""

        def create_server(self):
            self.check_port(self.port)
            try:
                self.server = grpc.server(
                    thread_pool=ThreadPoolExecutor(max_workers=4),
                    options=(("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 256 << 20)),
                )
                self.unity_to_external = UnityToExternalServicerImplementation()
                add_UnityToExternalProtoServicer_to_server(self.unity_to_external, self.server)
                if self.server.add_insecure_port(f"127.0.0.1:{self.port}") == 0:
                    raise OSError(f"cannot bind 127.0.0.1:{self.port}")
                self.server.start()
                self.is_open = True
            except Exception:
                raise UnityWorkerInUseException(self.worker_id) from None

    class LocalUnityEnvironment(UnityEnvironment):
        """``UnityEnvironment`` with :class:`LocalRpcCommunicator`; ``port_lock`` released on close."""

        port_lock = None

        @staticmethod
        def _get_communicator(worker_id, base_port, timeout_wait):
            return LocalRpcCommunicator(worker_id, base_port, timeout_wait)

        def _close(self, timeout=None):
            try:
                super()._close(timeout)
            finally:
                lock, self.port_lock = self.port_lock, None
                if lock is not None:
                    with contextlib.suppress(OSError):
                        lock.close()

    return LocalUnityEnvironment, UnityWorkerInUseException


def _lock_free_port():
    """(port, lock file) for a port that is free now and locked against other embodied processes."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        f = open(os.path.join(LOCK_DIR, f"{port}.lock"), "w")  # noqa: SIM115 (held while the env lives)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        return port, f
    raise OSError("no free port found in 50 tries")


def open_unity(file_name=None, base_port: int | None = None, worker_id: int = 0, retries: int = 5, **kwargs):
    """A ``UnityEnvironment`` (the genuine class, bound to 127.0.0.1) on an automatic port.

    ``base_port=None`` (the default): a free, locked port (``worker_id`` must be 0); else
    ``base_port + worker_id`` as ML-Agents does. Other keyword arguments go to
    ``UnityEnvironment`` (``seed``, ``no_graphics``, ``timeout_wait``, ``additional_args``,
    ``side_channels``, ``log_folder``...). The player's scene channel
    (:func:`~embodied.bridges.mlagents.channel.scene_channel`) is added when ``side_channels``
    lacks it: the player sends a step event on it every step, which ML-Agents would otherwise log
    as "Unknown side channel data received", once per step.
    """
    from .channel import CHANNEL_ID, scene_channel

    channels = list(kwargs.pop("side_channels", None) or [])
    if not any(c.channel_id == CHANNEL_ID for c in channels):
        channels.append(scene_channel())
    kwargs["side_channels"] = channels
    env_cls, in_use = _classes()
    last = None
    for _ in range(retries if base_port is None else 1):
        lock = None
        if base_port is None:
            port, lock = _lock_free_port()
            bp, wid = port, 0
        else:
            bp, wid = base_port, worker_id
        try:
            env = env_cls(file_name=file_name, worker_id=wid, base_port=bp, **kwargs)
        except in_use as exc:
            last = exc
            if lock is not None:
                lock.close()
            continue
        except BaseException:
            if lock is not None:
                lock.close()
            raise
        env.port_lock = lock
        return env
    raise last
