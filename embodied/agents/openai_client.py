"""Robust chat-completion calls for the ``openai:MODEL`` agent: retries, an on-disk cache, cost.

:class:`ChatClient` wraps the genuine ``openai`` SDK (any OpenAI-compatible endpoint) with:

- **Retries** of what is transient: rate limits (429, honouring ``retry-after``), timeouts,
  5xx, refused or dropped connections, and malformed response bodies. Exponential backoff with
  jitter (``min(cap, base * 2**attempt)`` scaled by a random factor in [0.5, 1]); the SDK's
  own retries are off (``max_retries=0``) so every attempt is counted here. Anything else
  (401, 400, 404...) fails at once. When retries run out, :class:`~embodied.errors.AgentAPIError`
  is raised; its ``errors`` lists the error class of every failed attempt.
- **Cache**: with ``cache_dir``, a response is stored under the sha256 of the model, the
  messages (images included, as their data URLs) and every sampling parameter; a replay makes
  no request. Writes go to a temporary file renamed into place, so concurrent processes never
  read half a file; an unreadable entry counts as a miss.
- **Accounting**: every :class:`Completion` carries prompt/completion tokens, latency, attempts,
  the errors seen and the cost in USD from a price table (USD per million tokens; defaults in
  ``prices.yaml``, override with ``prices=``). A cached answer costs nothing now (its tokens are
  kept). An unknown model's cost is None (never a made-up 0).

The API key is read from the environment variable ``api_key_env`` (default ``OPENAI_API_KEY``)
and handed to the SDK only; it is never stored, logged, cached or put in a message.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .. import yamlio
from ..errors import AgentAPIError, ConfigError

RETRIED = (
    "RateLimitError",
    "APITimeoutError",
    "APIConnectionError",
    "InternalServerError",
    "MalformedResponse",
)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")


def load_prices(source: str | Path | dict | None = None) -> dict[str, tuple[float, float]]:
    """Model -> (USD per 1M prompt tokens, USD per 1M completion tokens). ``source``: a dict, a
    YAML/JSON file, or None for the shipped table; a file's entries extend the shipped ones."""
    table = yaml.safe_load(resources.files("embodied.agents").joinpath("prices.yaml").read_text())["models"]
    if isinstance(source, (str, Path)):
        try:
            extra = yaml.safe_load(Path(source).read_text())
        except (OSError, yaml.YAMLError) as e:
            why = yamlio.error_text(e) if isinstance(e, yaml.YAMLError) else e.strerror or e
            raise ConfigError(
                f"cannot read price table {source}: {why}; give a YAML/JSON file of model: [in, out]"
            ) from None
        source = extra.get("models", extra) if isinstance(extra, dict) else None
        if source is None:
            raise ConfigError("a price table file must map model names to [USD per 1M in, USD per 1M out]")
    if isinstance(source, dict):
        table = {**table, **source}
    out = {}
    for model, v in table.items():
        if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
            raise ConfigError(
                f"price of {model!r} must be [USD per 1M prompt tokens, per 1M completion], got {v!r}"
            )
        out[str(model)] = (float(v[0]), float(v[1]))
    return out


def price_of(model: str, prices: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The model's price, matching exactly, then the longest listed prefix (``gpt-4o-2024-08-06``)."""
    if model in prices:
        return prices[model]
    best = max((m for m in prices if model.startswith(m)), key=len, default=None)
    return prices[best] if best else None


@dataclass
class Completion:
    """One answer and what it took."""

    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency: float = 0.0  # seconds in calls (all attempts, backoff excluded); 0 for a cache hit
    cached: bool = False
    attempts: int = 0
    errors: list[str] = field(default_factory=list)  # error class of each failed attempt
    cost_usd: float | None = 0.0
    key: str = ""


class ChatClient:
    """One model behind one OpenAI-compatible endpoint.

    Args:
        model: the model name sent to the endpoint.
        base_url: the endpoint (None: the SDK's default, api.openai.com).
        api_key_env: environment variable holding the key. Required for the default endpoint;
            for a custom ``base_url`` (vLLM, Ollama, llama.cpp...) a missing key sends ``EMPTY``.
        timeout: seconds per request. retries: attempts after the first for transient errors.
        backoff: base seconds; backoff_cap: longest wait. cache_dir: response cache (None: off).
        prices: see :func:`load_prices`. sleep: injectable for tests. say: where a line per retry
            goes (default: stderr), so a refused or slow endpoint is not waited for in silence.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 1.0,
        backoff_cap: float = 30.0,
        cache_dir: str | Path | None = None,
        prices: dict | str | Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter_seed: int | None = None,
        say: Callable[[str], None] | None = None,
    ):
        try:
            import openai
        except ImportError:
            raise ConfigError(
                "the openai:MODEL agent needs the openai package: pip install 'embodied[openai]'"
            ) from None
        if not float(timeout) > 0:
            raise ConfigError(f"timeout must be more than 0 seconds, got {timeout}")
        if int(retries) < 0 or float(backoff) < 0:
            raise ConfigError(
                f"retries and backoff must be 0 or more, got retries={retries}, backoff={backoff}"
            )
        if base_url is not None and not str(base_url).startswith(("http://", "https://")):
            raise ConfigError(
                f"base URL must start with http:// or https://, got {base_url!r} (e.g. http://127.0.0.1:8000/v1)"
            )
        if base_url is not None:  # a malformed one was an httpx traceback at the first request
            try:
                parts = urlsplit(str(base_url))
                parts.port  # noqa: B018 (raises ValueError for a bad port)
            except ValueError as e:
                raise ConfigError(
                    f"base URL {base_url!r} is not a valid URL ({e}); e.g. http://127.0.0.1:8000/v1"
                ) from None
            if not parts.hostname:
                raise ConfigError(f"base URL {base_url!r} names no host; e.g. http://127.0.0.1:8000/v1")
        if not api_key_env:
            raise ConfigError("api_key_env is empty: name the environment variable holding the key")
        self.openai = openai
        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        key = os.environ.get(api_key_env)
        if not key:
            if base_url is None:
                raise ConfigError(
                    f"no API key: set the environment variable {api_key_env} (or pass --api-key-env NAME), "
                    "or point --base-url at a local endpoint"
                )
            key = "EMPTY"  # local servers accept any key
        self._sdk = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=timeout)
        self._key = key  # only to mask it in error messages; never stored elsewhere
        self.timeout = timeout
        self.retries = int(retries)
        self.backoff, self.backoff_cap = float(backoff), float(backoff_cap)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        if self.cache_dir is not None:  # checked now, not at the first answer (an engine already up)
            from ..commands.episode_out import out_dir

            try:
                out_dir(str(self.cache_dir))
            except OSError as e:
                raise ConfigError(
                    f"cache directory {self.cache_dir}: cannot write there ({e.strerror or e}); "
                    "give a directory you can write to"
                ) from None
        self.prices = load_prices(prices)
        self.price = price_of(model, self.prices)
        self._sleep = sleep
        self._say = say or _to_stderr
        self._rng = random.Random(jitter_seed)

    def describe(self) -> dict[str, Any]:
        """What to record in a run config (never the key)."""
        return {
            "model": self.model,
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "timeout": self.timeout,
            "retries": self.retries,
            "backoff": self.backoff,
            "backoff_cap": self.backoff_cap,
            "cache_dir": str(self.cache_dir) if self.cache_dir else None,
            "price_per_1m": list(self.price) if self.price else None,
        }

    # ------------------------------------------------------------ the call
    def complete(self, messages: list[dict], params: dict[str, Any]) -> Completion:
        """One chat completion (``params``: temperature, top_p, max_tokens, seed..., None dropped)."""
        params = {k: v for k, v in params.items() if v is not None}
        key = cache_key(self.model, messages, params) if self.cache_dir else ""
        hit = self._cache_get(key)
        if hit is not None:
            return Completion(
                hit["content"],
                hit.get("prompt_tokens", 0),
                hit.get("completion_tokens", 0),
                0.0,
                True,
                0,
                [],
                0.0,
                key,
            )
        errors: list[str] = []
        latency = 0.0
        for attempt in range(self.retries + 1):
            t = time.perf_counter()
            wait = None
            try:
                resp = self._sdk.chat.completions.create(model=self.model, messages=messages, **params)
                latency += time.perf_counter() - t
                content, usage = _content(resp)
            except self.openai.APIStatusError as e:
                latency += time.perf_counter() - t
                name = type(e).__name__
                if e.status_code < 500 and e.status_code != 429:
                    raise api_error(
                        f"{self.model} at {self.base_url or 'the default endpoint'}: HTTP {e.status_code} "
                        f"{name}: {_short(e, self._key)} (not retried)",
                        [*errors, name],
                    ) from None
                errors.append(name)
                wait = _retry_after(e)
            except (self.openai.APITimeoutError, self.openai.APIConnectionError) as e:
                latency += time.perf_counter() - t
                errors.append(type(e).__name__)
            except (ValueError, TypeError, AttributeError, IndexError, KeyError):
                latency += time.perf_counter() - t
                errors.append("MalformedResponse")
            else:
                c = Completion(content, usage[0], usage[1], latency, False, attempt + 1, errors, key=key)
                c.cost_usd = self.cost(c.prompt_tokens, c.completion_tokens)
                self._cache_put(key, c)
                return c
            if attempt < self.retries:
                d = self.delay(attempt, wait)
                self._say(  # a server still starting is waited for, but not in silence (~31 s in all)
                    f"embodied: {self.model} at {self.base_url or 'the default endpoint'}: {errors[-1]}; "
                    f"retry {attempt + 1} of {self.retries} in {d:.1f} s"
                )
                self._sleep(d)
        raise api_error(
            f"{self.model} at {self.base_url or 'the default endpoint'} failed {len(errors)} times "
            f"({', '.join(errors)}); check the endpoint, or raise --retries / --request-timeout",
            errors,
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt + 1``: exponential with jitter, or the server's
        ``retry-after`` when it asks for longer (both capped)."""
        d = min(self.backoff_cap, self.backoff * 2**attempt) * self._rng.uniform(0.5, 1.0)
        if retry_after is not None:
            d = max(d, min(self.backoff_cap, retry_after))
        return d

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        if self.price is None:
            return None
        return round((prompt_tokens * self.price[0] + completion_tokens * self.price[1]) / 1e6, 8)

    # ------------------------------------------------------------ cache
    def _cache_path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str) -> dict | None:
        if self.cache_dir is None:
            return None
        try:
            d = json.loads(self._cache_path(key).read_text())
        except (OSError, ValueError):
            return None
        return d if isinstance(d, dict) and isinstance(d.get("content"), str) else None

    def _cache_put(self, key: str, c: Completion) -> None:
        if self.cache_dir is None:
            return
        path = self._cache_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "model": self.model,
            "content": c.content,
            "prompt_tokens": c.prompt_tokens,
            "completion_tokens": c.completion_tokens,
            "stored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, path)  # atomic: readers see the old file or the whole new one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def api_error(message: str, errors: list[str]) -> AgentAPIError:
    """An :class:`AgentAPIError` whose ``errors`` lists the error class of each failed attempt."""
    e = AgentAPIError(message)
    e.errors = list(errors)
    return e


def cache_key(model: str, messages: list[dict], params: dict[str, Any]) -> str:
    """sha256 over the model, the messages (with image data URLs) and every sampling parameter."""
    blob = json.dumps({"model": model, "messages": messages, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _content(resp: Any) -> tuple[str, tuple[int, int]]:
    """The answer text and token usage of a response; raises ValueError when it is malformed."""
    choices = getattr(resp, "choices", None)
    if not choices:
        raise ValueError("response has no choices")
    content = choices[0].message.content
    if not isinstance(content, str):
        raise ValueError("response message has no text content")
    u = getattr(resp, "usage", None)
    return content, (int(getattr(u, "prompt_tokens", 0) or 0), int(getattr(u, "completion_tokens", 0) or 0))


def _retry_after(e: Any) -> float | None:
    try:
        v = e.response.headers.get("retry-after")
        return float(v) if v is not None else None
    except (AttributeError, ValueError, TypeError):
        return None


_KEYLIKE = re.compile(r"\b(sk|key|api[_-]?key)[-_][A-Za-z0-9_*.-]{6,}", re.I)


def _short(e: Exception, key: str | None = None) -> str:
    """The error's message on one line, with anything key-like masked (OpenAI's 401 echoes part
    of the key: 'Incorrect API key provided: sk-abc***xyz')."""
    msg = str(getattr(e, "message", None) or e)
    if key and len(key) > 3:
        msg = msg.replace(key, "***")
    return _KEYLIKE.sub(r"\1-***", " ".join(msg.split()))[:200]


def is_local(base_url: str | None) -> bool:
    return bool(base_url) and any(h in base_url for h in LOCAL_HOSTS)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
