"""A local OpenAI-compatible HTTP server for tests and offline runs: :class:`FakeOpenAI`.

It speaks enough of the OpenAI REST API for the genuine ``openai`` SDK (and any other
OpenAI-compatible client) to talk to it: ``POST /v1/chat/completions`` and ``GET /v1/models``.
Every answer comes from a *script*, so a test decides exactly what the "model" says and how
the endpoint misbehaves::

    from openai import OpenAI
    from embodied.testing import FakeOpenAI, Reply

    script = [
        '{"thought": "look around", "action_id": 4}',   # a str: a normal completion
        Reply.rate_limit(retry_after=0.01),              # HTTP 429 with a retry-after header
        Reply.server_error(503),                          # HTTP 5xx
        Reply.slow("MoveAhead", delay=2.0),              # answers after 2 s (client timeouts)
        Reply.malformed(b'{"choices": [oops'),           # a 200 whose body is not JSON
        Reply.disconnect(),                               # closes the connection, no answer
        Reply("Done", usage=(1000, 20)),                  # exact usage token counts
    ]
    with FakeOpenAI(script) as srv:                       # 127.0.0.1, a free port
        client = OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="gpt-4o", messages=[...])
        srv.requests[0].json["messages"]                  # every request is recorded

The script is a list (consumed in order) or a callable ``fn(request) -> str | Reply`` that is
asked once per completion request (it sees the :class:`Request`, so it can answer from the
prompt; if it raises, the client gets HTTP 400 naming the exception, kept in ``script_errors``). A list that runs out answers HTTP 400 ``script exhausted`` (a client does not retry
a 400, so a test that asks more than it scripted fails fast); pass ``default=`` to answer
something instead. :func:`refused_base_url` gives a URL on which nothing listens (connection
refused). ``python -m embodied.testing --answers FILE`` serves a file of answers
for manual runs (see ``--help``).

Usage counts: a :class:`Reply` may fix ``usage=(prompt_tokens, completion_tokens)``; otherwise
they are estimated deterministically (about 4 characters per token, 85 tokens per image).
Only 127.0.0.1 is bound. Nothing received is executed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAI", "Reply", "Request", "refused_base_url"]

IMAGE_TOKENS = 85  # tokens counted per image part when usage is estimated


@dataclass
class Reply:
    """One scripted answer. ``content`` is the assistant message text (a plain 200 answer).

    Args:
        content: the message content of a normal answer.
        status: HTTP status; anything but 200 sends an OpenAI-style error body.
        delay: seconds to wait before answering (to trigger client timeouts).
        headers: extra response headers (e.g. ``{"retry-after": "1"}``).
        usage: ``(prompt_tokens, completion_tokens)``; None estimates them from the request.
        raw: bytes sent verbatim as the body (malformed answers); overrides everything else.
        body: a dict sent as the JSON body verbatim (full control of the response shape).
        close: close the connection without answering (the client sees a connection error).
        finish_reason: the choice's ``finish_reason``.
        message: the error message of a non-200 answer.
    """

    content: str = ""
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    usage: tuple[int, int] | None = None
    raw: bytes | None = None
    body: dict | None = None
    close: bool = False
    finish_reason: str = "stop"
    message: str = ""

    @classmethod
    def error(cls, status: int, message: str = "", **kw: Any) -> Reply:
        return cls(status=status, message=message or f"scripted error {status}", **kw)

    @classmethod
    def rate_limit(cls, retry_after: float | None = 0.01, **kw: Any) -> Reply:
        """HTTP 429; ``retry_after`` seconds go into the ``retry-after`` header (None: no header)."""
        headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
        return cls(status=429, message="Rate limit reached (scripted)", headers=headers, **kw)

    @classmethod
    def server_error(cls, status: int = 500, **kw: Any) -> Reply:
        return cls(status=status, message=f"The server had an error (scripted {status})", **kw)

    @classmethod
    def slow(cls, content: str, delay: float, **kw: Any) -> Reply:
        return cls(content=content, delay=delay, **kw)

    @classmethod
    def malformed(
        cls,
        raw: bytes | str = b'{"choices": [{"message": ',
        content_type: str = "application/json",
        **kw: Any,
    ) -> Reply:
        """A 200 whose body is ``raw`` sent verbatim (by default truncated JSON labelled as JSON)."""
        headers = {"content-type": content_type, **kw.pop("headers", {})}
        return cls(raw=raw.encode() if isinstance(raw, str) else raw, headers=headers, **kw)

    @classmethod
    def disconnect(cls, **kw: Any) -> Reply:
        return cls(close=True, **kw)


@dataclass
class Request:
    """A request the server received: ``headers`` with lowercase names, ``json`` the parsed body
    (None if it was not JSON), ``reply`` what the script answered."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    time: float
    reply: Reply | None = None  # what was answered (None for non-completion requests)

    @property
    def messages(self) -> list[dict]:
        return (self.json or {}).get("messages", []) if isinstance(self.json, dict) else []

    def text(self) -> str:
        """All text parts of all messages, joined (handy for asserting what a prompt said)."""
        out = []
        for m in self.messages:
            c = m.get("content")
            if isinstance(c, str):
                out.append(c)
            elif isinstance(c, list):
                out += [p.get("text", "") for p in c if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(out)

    def images(self) -> list[str]:
        """The ``image_url`` urls (data URLs for inline images) of all messages, in order."""
        out = []
        for m in self.messages:
            c = m.get("content")
            if isinstance(c, list):
                out += [
                    p["image_url"]["url"] if isinstance(p.get("image_url"), dict) else p.get("image_url")
                    for p in c
                    if isinstance(p, dict) and p.get("type") == "image_url"
                ]
        return out


Script = Iterable[str | Reply] | Callable[[Request], str | Reply]


class FakeOpenAI:
    """A scripted OpenAI-compatible server on ``127.0.0.1`` and a free port (a context manager).

    Attributes: ``base_url`` (``http://127.0.0.1:PORT/v1``, for ``OpenAI(base_url=...)``),
    ``requests`` (every :class:`Request` received, in order), ``completions`` (only the chat
    completion requests). Methods: :meth:`push` appends to a list script, :meth:`set_script`
    replaces it. ``models`` is what ``GET /v1/models`` lists.
    """

    def __init__(
        self,
        script: Script = (),
        default: str | Reply | None = None,
        models: Iterable[str] = ("gpt-4o", "gpt-4o-mini"),
        port: int = 0,
    ):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.default = default
        self.models = list(models)
        self.requests: list[Request] = []
        self.script_errors: list[Exception] = []  # exceptions a callable script raised
        self.set_script(script)
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ script
    def set_script(self, script: Script) -> None:
        with self._lock:
            self._fn = script if callable(script) else None
            self._queue = [] if callable(script) else list(script)

    def push(self, *replies: str | Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def remaining(self) -> int:
        """Scripted replies not yet served (list scripts)."""
        with self._lock:
            return len(self._queue)

    @property
    def completions(self) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def _next(self, req: Request) -> Reply:
        with self._lock:
            if self._fn is None:
                if self._queue:
                    item = self._queue.pop(0)
                elif self.default is not None:
                    item = self.default
                else:
                    served = sum(1 for r in self.requests if r.reply is not None)
                    item = Reply.error(400, f"FakeOpenAI: script exhausted after {served} replies")
        if self._fn is not None:
            try:
                item = self._fn(req)
            except Exception as e:  # a broken script must fail the test, not hang it: HTTP 400 says why
                with self._lock:
                    self.script_errors.append(e)
                item = Reply.error(400, f"FakeOpenAI: the script raised {type(e).__name__}: {e}")
        return item if isinstance(item, Reply) else Reply(str(item))

    # ------------------------------------------------------------ lifecycle
    def start(self) -> FakeOpenAI:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="FakeOpenAI", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (pending slow replies are cut short)."""
        self._stop.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeOpenAI({self.base_url}, {len(self.requests)} requests)"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: FakeOpenAI


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read srv.requests instead
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        req = self._record(None)
        if req.path.rstrip("/").endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "embodied-testing"}
                for m in owner.models
            ]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, _error_body(f"no route GET {self.path}", "invalid_request_error"))

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        req = self._record(body)
        if not req.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, _error_body(f"no route POST {self.path}", "invalid_request_error"))
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._json(400, _error_body("body must be JSON with a 'messages' list", "invalid_request_error"))
            return
        reply = owner._next(req)
        req.reply = reply
        if reply.delay and owner._stop.wait(reply.delay):
            return
        if reply.close:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.raw is not None:
            self._send(reply.status, reply.raw, reply.headers)
        elif reply.body is not None:
            self._json(reply.status, reply.body, reply.headers)
        elif reply.status != 200:
            kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(reply.status, "server_error")
            self._json(reply.status, _error_body(reply.message, kind), reply.headers)
        else:
            self._json(200, _completion(body, reply), reply.headers)

    def _record(self, body: Any) -> Request:
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, self.path, headers, body, time.time())
        with self.server.owner._lock:
            self.server.owner.requests.append(req)
        return req

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), {"content-type": "application/json", **(headers or {})})

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
            self.close_connection = True


def _error_body(message: str, code: str) -> dict:
    return {"error": {"message": message, "type": code, "code": code, "param": None}}


def estimate_usage(body: dict, content: str) -> tuple[int, int]:
    """Deterministic token estimate: ~4 characters per token, ``IMAGE_TOKENS`` per image part."""
    chars, images = 0, 0
    for m in body.get("messages", []):
        c = m.get("content") if isinstance(m, dict) else None
        if isinstance(c, str):
            chars += len(c)
        elif isinstance(c, list):
            for p in c:
                if isinstance(p, dict) and p.get("type") == "image_url":
                    images += 1
                elif isinstance(p, dict):
                    chars += len(str(p.get("text", "")))
    return max(1, (chars + 3) // 4) + IMAGE_TOKENS * images, max(1, (len(content) + 3) // 4)


def _completion(body: dict, reply: Reply) -> dict:
    prompt, completion = reply.usage or estimate_usage(body, reply.content)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model", "fake")),
        "system_fingerprint": "fp_embodied_testing",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def refused_base_url() -> str:
    """A ``base_url`` on 127.0.0.1 where nothing listens: every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _load_answers(path: str) -> list[str]:
    """A JSON list of strings, or JSON lines (each a string), or plain text with one answer per line."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text)
        if isinstance(data, list):
            return [a if isinstance(a, str) else json.dumps(a) for a in data]
    except ValueError:
        pass
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            v = json.loads(line)
            out.append(v if isinstance(v, str) else json.dumps(v))
        except ValueError:
            out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    from ..cli import Parser, int_in  # one-line usage errors

    prog = "python -m embodied.testing"
    p = Parser(
        prog=prog,
        description="Serve scripted chat-completion answers on 127.0.0.1 (an OpenAI-compatible test endpoint).",
    )
    p.add_argument("--answers", help="file of answers: a JSON list, JSON lines, or one answer per line")
    p.add_argument("--default", default=None, help="answer once the file is used up (default: HTTP 400)")
    p.add_argument("--port", type=int_in(0, 65535), default=0, help="port (default: a free one)")
    args = p.parse_args(argv)
    try:
        answers = _load_answers(args.answers) if args.answers else []
    except OSError as e:
        print(
            f"{prog}: error: cannot read answers file {args.answers}: {e.strerror or e}; pass --answers FILE "
            "(a JSON list or one answer per line)",
            file=sys.stderr,
        )
        return 2
    try:
        srv = FakeOpenAI(answers, default=args.default, port=args.port)
    except OSError as e:  # the port is taken (or not ours to bind): one line, not a traceback
        print(
            f"{prog}: error: cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}; "
            "pick another --port, or 0 for a free one",
            file=sys.stderr,
        )
        return 2
    with srv:
        print(f"serving {len(answers)} scripted answers at {srv.base_url} (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
