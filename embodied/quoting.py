"""Quote untrusted input in messages, bounded: depth, items and length capped, never raising."""

from __future__ import annotations

import reprlib
from typing import Any

_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 3, 60, 60
_BRIEF.maxlist = _BRIEF.maxtuple = _BRIEF.maxdict = _BRIEF.maxset = 6


def brief(value: Any, limit: int = 80) -> str:
    """A bounded repr of anything received: safe to put in an error message or a log line."""
    try:
        text = _BRIEF.repr(value)
    except Exception:  # a hostile __repr__, or one that recurses
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
