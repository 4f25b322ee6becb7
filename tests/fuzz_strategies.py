"""Hypothesis strategies shared by the fuzz tests (fast profile: a few seconds each; ``slow``: more)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from embodied.actions import CATALOG

FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
SLOW = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
verbs = st.sampled_from([*CATALOG, "OpenObject", "PickupObject", "Explode", ""])
actions = st.one_of(
    json_values,
    st.builds(lambda v, a: {"action": v, "args": a}, verbs, json_values),
    st.builds(lambda v, o: {"action": v, "objectId": o}, verbs, json_values),
    st.builds(lambda v, a: f"{v}({a})", verbs, st.text(max_size=60)),
    st.text(max_size=200),
    st.integers(min_value=-5, max_value=500),
)
