"""The local OpenAI-compatible server, exercised with the genuine ``openai`` SDK."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import openai
import pytest
from openai import OpenAI

from embodied.testing import FakeOpenAI, Reply, refused_base_url

MSG = [{"role": "user", "content": "hello"}]


def client(srv, **kw) -> OpenAI:
    return OpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0, **kw)


def test_scripted_answers_in_order_and_recorded():
    with FakeOpenAI(["first", Reply("second", usage=(123, 7))]) as srv:
        c = client(srv)
        a = c.chat.completions.create(model="gpt-4o", messages=MSG, temperature=0.3, seed=5)
        b = c.chat.completions.create(model="m2", messages=[{"role": "user", "content": "again"}])
        assert a.choices[0].message.content == "first"
        assert a.model == "gpt-4o"
        assert a.usage.prompt_tokens >= 1 and a.usage.completion_tokens >= 1
        assert b.choices[0].message.content == "second"
        assert (b.usage.prompt_tokens, b.usage.completion_tokens, b.usage.total_tokens) == (123, 7, 130)
        assert [r.json["model"] for r in srv.completions] == ["gpt-4o", "m2"]
        assert srv.completions[0].json["temperature"] == 0.3 and srv.completions[0].json["seed"] == 5
        assert srv.completions[0].headers["authorization"] == "Bearer sk-test"
        assert srv.completions[1].text() == "again"
        assert srv.remaining == 0
        with pytest.raises(openai.BadRequestError, match="script exhausted after 2"):
            c.chat.completions.create(model="gpt-4o", messages=MSG)


def test_callable_script_sees_the_request_and_images_are_counted():
    def answer(req):
        return f"you said {req.text()} with {len(req.images())} image(s)"

    img = "data:image/jpeg;base64,/9j/AAAA"
    content = [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": img}}]
    with FakeOpenAI(answer) as srv:
        r = client(srv).chat.completions.create(model="x", messages=[{"role": "user", "content": content}])
        assert r.choices[0].message.content == "you said look with 1 image(s)"
        assert r.usage.prompt_tokens == 1 + 85
        assert srv.completions[0].images() == [img]


def test_models_endpoint():
    with FakeOpenAI(models=["a", "b"]) as srv:
        assert [m.id for m in client(srv).models.list()] == ["a", "b"]


@pytest.mark.parametrize(
    "reply, error",
    [
        (Reply.rate_limit(retry_after=2), openai.RateLimitError),
        (Reply.server_error(500), openai.InternalServerError),
        (Reply.server_error(503), openai.InternalServerError),
        (Reply.error(401, "bad key"), openai.AuthenticationError),
        (Reply.disconnect(), openai.APIConnectionError),
    ],
)
def test_error_replies_raise_the_sdk_error_classes(reply, error):
    with FakeOpenAI([reply, "fine"]) as srv:
        c = client(srv)
        with pytest.raises(error) as e:
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        if reply.status == 429:
            assert e.value.response.headers["retry-after"] == "2"
        assert c.chat.completions.create(model="gpt-4o", messages=MSG).choices[0].message.content == "fine"


def test_slow_reply_times_out_and_malformed_body_fails():
    with FakeOpenAI([Reply.slow("late", delay=3.0), Reply.malformed(), "ok"]) as srv:
        c = client(srv, timeout=0.3)
        t = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        assert time.perf_counter() - t < 2.5
        with pytest.raises(ValueError):  # the SDK fails to decode it
            c.chat.completions.create(model="gpt-4o", messages=MSG)
        assert c.chat.completions.create(model="gpt-4o", messages=MSG).choices[0].message.content == "ok"
    assert len(srv.completions) == 3


def test_refused_connection_and_stop_closes_the_port():
    c = OpenAI(base_url=refused_base_url(), api_key="sk-test", max_retries=0, timeout=2)
    with pytest.raises(openai.APIConnectionError):
        c.chat.completions.create(model="gpt-4o", messages=MSG)
    srv = FakeOpenAI(default="x").start()
    url = srv.base_url
    srv.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/models", timeout=2)


def test_binds_loopback_only():
    with FakeOpenAI() as srv:
        assert srv._server.server_address[0] == "127.0.0.1"


def test_answers_file_formats(tmp_path):
    from embodied.testing.openai_server import _load_answers

    f = tmp_path / "a.json"
    f.write_text('["one", {"action_id": 2}]')
    assert _load_answers(str(f)) == ["one", '{"action_id": 2}']
    f.write_text('{"thought": "t", "action_id": 1}\n\nMoveAhead\n"quoted"\n')
    assert _load_answers(str(f)) == ['{"thought": "t", "action_id": 1}', "MoveAhead", "quoted"]


def test_command_line_mistakes_are_one_line_on_stderr(tmp_path, capsys):
    """'python -m embodied.testing': a port out of range or taken was a traceback; a missing answers
    file printed its error on stdout."""
    import socket

    from embodied.testing.openai_server import main

    assert main(["--answers", str(tmp_path / "nosuch.txt")]) == 2
    out, err = capsys.readouterr()
    assert not out and err.strip() == (
        f"python -m embodied.testing: error: cannot read answers file {tmp_path / 'nosuch.txt'}: No such "
        "file or directory; pass --answers FILE (a JSON list or one answer per line)"
    )
    with pytest.raises(SystemExit) as e:
        main(["--port", "99999"])
    assert e.value.code == 2 and "argument --port: must be 0..65535, got 99999" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in err[0]
