"""How the Unreal backend sends UnrealCV commands: over the genuine ``unrealcv.Client`` (TCP or a
Unix socket), or straight into an in-process :class:`~embodied.bridges.unrealcv.level.Level`.

Both pipeline a batch: :meth:`send` writes every command at once, :meth:`receive` collects the
replies in order. The client transport adds what the stock client lacks: a timeout on the
greeting and on every batch (``Client.request(list)`` waits forever), raised as ``TimeoutError``;
a lost connection is raised as ``ConnectionError``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from queue import Empty


def _log_print(*args, sep=" ", **_kw) -> None:
    """The stock client's own ``print`` calls ("=>Info: using ...", and from its receive thread
    "BaseClient: can not receive message from server", "Connection lost during receive ...") go to
    its logger at debug level instead of the user's stdout; we report a lost connection ourselves."""
    logging.getLogger("unrealcv").debug(sep.join(str(a) for a in args))


def _quiet(receive):
    """``receive`` with the ``ConnectionError`` it raises (after queueing it for the reader) turned
    into None, which ends the client's receive loop instead of killing its thread with a traceback."""

    def run():
        try:
            return receive()
        except ConnectionError:
            return None

    return run


class ClientTransport:
    """The genuine ``unrealcv.Client`` (1.3.2) connected to ``address`` ((host, port) or a path)."""

    def __init__(self, address, unix: bool = False, connect_timeout: float = 30.0, alive=None):
        import unrealcv

        logging.getLogger("unrealcv").setLevel(logging.WARNING)  # it logs every connect at INFO
        unrealcv.print = _log_print  # the module's own prints (a global of that module only)
        self.address, self.unix = address, unix
        self.endpoint = f"unix:{address}" if unix else f"{address[0]}:{address[1]}"
        self.alive = alive  # () -> bool: is the server process still running? (fail fast when not)
        self.client = unrealcv.Client(address, "unix" if unix else "inet")
        # When the server goes away, the client's receive thread re-reads the closed socket 10
        # times over ~55 s and then raises, which Python prints as a traceback long after we
        # reported the lost connection (or restarted the engine). Read once; on failure its
        # error is already queued for us, so the thread ends quietly.
        self.client.RECONNECT_ATTEMPTS = 0
        self.client.receive = _quiet(self.client.receive)
        self._connect(connect_timeout)

    def _connect(self, timeout: float) -> None:
        """``Client.connect`` waits for the greeting with no limit (a server busy with another
        client greets only when that one leaves): bound it, then shut the half-open socket."""
        result: list = []

        def run():
            result.append(self.client.connect())

        t = threading.Thread(target=run, name="unrealcv-connect", daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            sock = self.client.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    import socket

                    sock.shutdown(socket.SHUT_RDWR)
            t.join(2.0)
            raise TimeoutError(
                f"no UnrealCV greeting within {timeout:g} s (the server accepts one client at a "
                "time: is another client still connected?)"
            )
        if not result or not result[0]:
            raise ConnectionError("the connection was refused or closed before the greeting")

    def send(self, commands: list[str]) -> None:
        c = self.client
        for cmd in commands:
            raw = b"%d:%s" % (c.send_message_id, cmd.encode("utf-8"))
            if not c.send(raw):
                raise ConnectionError("the connection is closed")
            c.send_message_id += 1
        c.recv_num_q.put(-len(commands))  # the client's receive thread reads this many replies

    def receive(self, n: int, timeout: float) -> list:
        import time

        out, deadline = [], time.monotonic() + timeout
        for _ in range(n):
            while True:
                left = deadline - time.monotonic()
                try:
                    reply = self.client.recv_data_q.get(timeout=max(0.0, min(left, 0.25)))
                    break
                except Empty:
                    if self.alive is not None and not self.alive():
                        self.close()
                        raise ConnectionError("the server process exited") from None
                    if left <= 0.25:
                        self.close()  # replies would now arrive out of step: this connection is done
                        raise TimeoutError(f"no reply within {timeout:g} s") from None
            if reply is None or isinstance(reply, Exception):
                self.close()
                raise ConnectionError(f"the connection was lost ({reply or 'closed by the server'})")
            out.append(reply)
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()


class LocalTransport:
    """Commands executed directly by an in-process Level (no socket)."""

    def __init__(self, level):
        self.level, self.endpoint = level, "in-process"
        self._replies: list = []

    def send(self, commands: list[str]) -> None:
        self._replies += [self.level.execute(c) for c in commands]

    def receive(self, n: int, timeout: float) -> list:
        out, self._replies = self._replies[:n], self._replies[n:]
        return out

    def close(self) -> None:
        self._replies = []
