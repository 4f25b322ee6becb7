"""The exception hierarchy: every error says what was wrong and what would be right.

Catch :class:`EmbodiedError` for anything raised by the package, or one of its
subclasses to handle a single kind precisely (like openai-python's error classes).
"""

from __future__ import annotations


class EmbodiedError(Exception):
    """Base class of every error this package raises on purpose."""


class SpecError(EmbodiedError, ValueError):
    """A scene spec is invalid. ``problems`` lists ``(path, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]] | str, source: str = "scene spec"):
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = list(problems)
        self.source = source
        lines = [f"{path}: {msg}" if path else msg for path, msg in self.problems]
        super().__init__(f"invalid {source}:\n  " + "\n  ".join(lines))


class ConfigError(EmbodiedError, ValueError):
    """An argument or option is not one this package accepts (unknown name, bad size, conflicting settings)."""


class StateError(EmbodiedError, ValueError):
    """A saved state does not belong to this scene or is malformed (``set_state``)."""


class EpisodeEndedError(EmbodiedError, RuntimeError):
    """``step`` was called after the episode terminated or was truncated; call ``reset`` first."""


class EnvClosedError(EmbodiedError, RuntimeError):
    """The env was closed; make a new one."""


class ActionError(EmbodiedError, ValueError):
    """An action could not be understood (not: an action that failed in the world)."""


class EngineError(EmbodiedError, RuntimeError):
    """The engine process failed, timed out, or answered with an error."""


class EngineTimeout(EngineError, TimeoutError):
    """The engine did not answer in time."""


class EngineHung(EngineTimeout):
    """The engine process is alive but stopped sending its heartbeat (stopped, deadlocked, swapped out)."""


class StepRolledBack(EngineError):
    """A step could not be rendered and was undone: the world is exactly as before the action,
    so the same action may be sent again. The cause is ``__cause__``."""


class ProtocolError(EngineError):
    """A wire message was malformed or the engine replied with an error."""


class AgentAPIError(EmbodiedError, RuntimeError):
    """A model endpoint failed (network, auth, rate limit) after its retries."""
