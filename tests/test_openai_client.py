"""Robust calls with the genuine openai SDK against the local server: retries, cache, cost."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from embodied.agents.openai_client import ChatClient, cache_key, load_prices
from embodied.errors import AgentAPIError, ConfigError
from embodied.testing import FakeOpenAI, Reply, refused_base_url

MSG = [{"role": "user", "content": "which action?"}]


def make(srv_or_url, waits=None, **kw) -> ChatClient:
    url = srv_or_url if isinstance(srv_or_url, str) else srv_or_url.base_url
    kw.setdefault("backoff", 0.01)
    return ChatClient(
        "gpt-4o", base_url=url, sleep=(waits.append if waits is not None else lambda s: None), **kw
    )


@pytest.mark.parametrize(
    "failure, name",
    [
        (Reply.rate_limit(retry_after=0.02), "RateLimitError"),
        (Reply.server_error(500), "InternalServerError"),
        (Reply.server_error(503), "InternalServerError"),
        (Reply.disconnect(), "APIConnectionError"),
        (Reply.slow("too late", delay=3.0), "APITimeoutError"),
        (Reply.malformed(), "MalformedResponse"),
        (Reply.malformed("plain text, not JSON", content_type="text/plain"), "MalformedResponse"),
        (Reply(body={"choices": []}), "MalformedResponse"),
    ],
)
def test_each_transient_error_class_is_retried_and_counted(failure, name):
    with FakeOpenAI([failure, "MoveAhead"]) as srv:
        waits: list[float] = []
        c = make(srv, waits, timeout=1.0).complete(MSG, {"temperature": 0})
    assert c.content == "MoveAhead"
    assert c.errors == [name] and c.attempts == 2
    assert len(srv.completions) == 2 and len(waits) == 1
    assert waits[0] > 0  # backed off before the retry
    if name == "RateLimitError":
        assert all(w >= 0.02 for w in waits)  # retry-after honoured


def test_refused_connection_is_retried_then_reported(capsys):
    waits: list[float] = []
    url = refused_base_url()
    client = make(url, waits, retries=3, timeout=2)
    with pytest.raises(AgentAPIError, match="failed 4 times") as e:
        client.complete(MSG, {})
    assert e.value.errors == ["APIConnectionError"] * 4
    assert len(waits) == 3
    # each wait is said on stderr as it starts (a refused --base-url was ~31 s of silence)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("; ")[1] for line in lines] == [
        f"retry {i} of 3 in {w:.1f} s" for i, w in enumerate(waits, 1)
    ], lines
    assert all(line.startswith(f"embodied: gpt-4o at {url}: APIConnectionError") for line in lines)


def test_backoff_is_exponential_with_jitter_and_capped():
    with FakeOpenAI() as srv:
        c = make(srv, backoff=1.0, backoff_cap=5.0, jitter_seed=1)
        delays = [c.delay(a) for a in range(6)]
        assert all(0.5 * min(5, 2**a) <= d <= min(5, 2**a) for a, d in enumerate(delays))
        assert len({round(d, 6) for d in delays}) == len(delays)  # jittered, not a fixed ladder
        assert c.delay(0, retry_after=3.0) >= 3.0 and c.delay(0, retry_after=99) <= 5.0


def test_client_errors_are_not_retried():
    with FakeOpenAI([Reply.error(401, "invalid api key"), "never"]) as srv:
        with pytest.raises(AgentAPIError, match="HTTP 401") as e:
            make(srv).complete(MSG, {})
        assert e.value.errors == ["AuthenticationError"]
        assert len(srv.completions) == 1


def test_cache_replays_with_zero_requests_and_keys_every_parameter(tmp_path):
    params = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 50, "seed": 3}
    with FakeOpenAI(["first", "second", "third"]) as srv:
        a = make(srv, cache_dir=tmp_path).complete(MSG, params)
        again = make(srv, cache_dir=tmp_path).complete(MSG, params)  # a new client: from disk
        assert (a.cached, again.cached, again.content) == (False, True, "first")
        assert len(srv.completions) == 1
        assert again.cost_usd == 0.0 and again.prompt_tokens == a.prompt_tokens
        # any sampling parameter, the model or the messages change the key
        b = make(srv, cache_dir=tmp_path).complete(MSG, {**params, "seed": 4})
        assert (b.cached, b.content) == (False, "second")
        image = [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AA"}}],
            }
        ]
        assert not make(srv, cache_dir=tmp_path).complete(image, params).cached
        assert len(srv.completions) == 3
    assert cache_key("m", MSG, {"temperature": 0}) != cache_key("m", MSG, {"temperature": 0.0001})
    assert cache_key("m", MSG, {}) != cache_key("n", MSG, {})
    assert not list(tmp_path.rglob(".tmp-*"))  # no temporary file left behind


def test_cache_is_safe_under_concurrent_processes(tmp_path):
    """This process and another fill the same cache with the same 20 keys at once (both start on
    a signal, after their imports): every entry is whole, none is left half-written."""

    def fill(client):
        for i in range(20):
            r = client.complete([{"role": "user", "content": f"q{i}"}], {"temperature": 0})
            assert r.content == f"answer to q{i}", r.content

    with FakeOpenAI(lambda req: f"answer to {req.text()}") as srv:
        code = textwrap.dedent(
            f"""
            import sys
            from embodied.agents.openai_client import ChatClient
            c = ChatClient("gpt-4o", base_url={srv.base_url!r}, cache_dir={str(tmp_path)!r})
            print("ready", flush=True)
            sys.stdin.readline()
            for i in range(20):
                r = c.complete([{{"role": "user", "content": f"q{{i}}"}}], {{"temperature": 0}})
                assert r.content == f"answer to q{{i}}", r.content
            """
        )
        other = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert other.stdout.readline().strip() == "ready"
        other.stdin.write("go\n")
        other.stdin.flush()
        fill(ChatClient("gpt-4o", base_url=srv.base_url, cache_dir=tmp_path))
        assert other.wait(60) == 0
        assert (
            20 <= len(srv.completions) <= 40
        )  # each key asked once or twice (a race is allowed, a torn file is not)
    entries = list(tmp_path.rglob("*.json"))
    assert len(entries) == 20 and not list(tmp_path.rglob(".tmp-*"))
    replay = ChatClient("gpt-4o", base_url=refused_base_url(), cache_dir=tmp_path, retries=0)
    assert replay.complete([{"role": "user", "content": "q7"}], {"temperature": 0}).content == "answer to q7"


def test_cost_from_the_price_table(tmp_path):
    with FakeOpenAI(
        [Reply("a", usage=(1000, 100)), Reply("b", usage=(2000, 10)), Reply("c", usage=(5, 5))]
    ) as srv:
        c = make(srv).complete(MSG, {})
        assert (c.prompt_tokens, c.completion_tokens) == (1000, 100)
        assert c.cost_usd == pytest.approx((1000 * 2.50 + 100 * 10.00) / 1e6)  # gpt-4o list price
        table = tmp_path / "prices.yaml"
        table.write_text("models:\n  my-model: [1.0, 2.0]\n")
        mine = ChatClient("my-model-v2", base_url=srv.base_url, prices=table)  # prefix match
        assert mine.complete(MSG, {}).cost_usd == pytest.approx((2000 * 1.0 + 10 * 2.0) / 1e6)
        unknown = ChatClient("mystery", base_url=srv.base_url)
        assert unknown.complete(MSG, {}).cost_usd is None  # unknown, never a made-up 0
    with pytest.raises(ConfigError, match="price of"):
        load_prices({"x": "cheap"})


def test_key_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        ChatClient("gpt-4o")  # the default endpoint needs a key
    monkeypatch.setenv("MY_KEY", "sk-from-env-123")
    with FakeOpenAI(["ok"]) as srv:
        c = ChatClient("gpt-4o", base_url=srv.base_url, api_key_env="MY_KEY")
        c.complete(MSG, {})
        assert srv.completions[0].headers["authorization"] == "Bearer sk-from-env-123"
        assert "sk-from-env" not in repr(c.describe())
    # a 401 that echoes the key (as OpenAI's does, partly masked) does not leak it into the error
    with (
        FakeOpenAI(
            [Reply.error(401, "Incorrect API key provided: sk-from-env-123. Or sk-from***123")]
        ) as srv,
        pytest.raises(AgentAPIError) as e,
    ):
        ChatClient("gpt-4o", base_url=srv.base_url, api_key_env="MY_KEY").complete(MSG, {})
    assert "sk-from" not in str(e.value) and "Incorrect API key provided" in str(e.value)
