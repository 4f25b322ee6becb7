"""``info`` dicts whose costly entries are computed only when read.

An RL loop that never reads ``info["objects"]`` or ``info["allowed_actions"]`` should not pay for
them (they are most of a step's client-side time). :class:`LazyInfo` is a ``dict`` that holds the
cheap entries and computes each costly one on first access; anything that looks at the dict as a
whole (iteration, ``len``, ``==``, ``json.dumps``, ``pickle``, ``copy``, ``dict(info)``, ``{**info}``)
sees every entry. Values always describe the step that returned the info: before the env changes
its world again, it :meth:`~LazyInfo.seal`\\ s the infos still alive with a snapshot of the state, so
an entry read later is computed from that snapshot (the snapshot costs a few tens of µs, taken only
while such an info is still referenced).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_MISSING = object()


class LazyInfo(dict):
    """A dict with some entries computed on first read (see the module docstring)."""

    __slots__ = ("__weakref__", "_pending")

    def __init__(self, eager: dict[str, Any], pending: dict[str, Callable[[], Any]]):
        super().__init__(eager)
        self._pending = pending

    # ------------------------------------------------------------ computing
    def _fill(self, key: Any) -> None:
        make = self._pending.pop(key, None)
        if make is not None:
            dict.__setitem__(self, key, make())

    def _fill_all(self) -> None:
        for key in list(self._pending):
            self._fill(key)

    @property
    def pending(self) -> tuple[str, ...]:
        """The entries not computed yet."""
        return tuple(self._pending)

    def seal(self, run: Callable[[Callable[[], Any]], Any]) -> None:
        """Make every pending entry compute through ``run(make)`` (which evaluates ``make`` against
        a snapshot of the state this info describes)."""
        self._pending = {k: (lambda make=make: run(make)) for k, make in self._pending.items()}

    # ------------------------------------------------------------ single entries
    def __getitem__(self, key: Any) -> Any:
        if key in self._pending:
            self._fill(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self._pending:
            self._fill(key)
        return dict.get(self, key, default)

    def __contains__(self, key: Any) -> bool:
        return key in self._pending or dict.__contains__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._pending.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        if self._pending.pop(key, _MISSING) is _MISSING:
            dict.__delitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        self._fill(key)
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._fill(key)
        return dict.setdefault(self, key, default)

    def __len__(self) -> int:
        return dict.__len__(self) + len(self._pending)

    # ------------------------------------------------------------ the whole dict
    def __iter__(self):
        self._fill_all()
        return dict.__iter__(self)

    def keys(self):
        self._fill_all()
        return dict.keys(self)

    def values(self):
        self._fill_all()
        return dict.values(self)

    def items(self):
        self._fill_all()
        return dict.items(self)

    def popitem(self):
        self._fill_all()
        return dict.popitem(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key in dict(*args, **kwargs):
            self._pending.pop(key, None)
        dict.update(self, *args, **kwargs)

    def copy(self) -> dict:
        self._fill_all()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._fill_all()
        if isinstance(other, LazyInfo):
            other._fill_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._fill_all()
        return dict.__repr__(self)

    def __or__(self, other: Any) -> dict:
        return self.copy() | other

    def __reduce__(self):
        return (dict, (self.copy(),))
