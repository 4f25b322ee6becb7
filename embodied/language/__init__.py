"""Free text -> one canonical :class:`~embodied.actions.Action`, grounded in what the agent sees.

``ground("open the red chest", ctx)`` returns ``Open(chest_red)``. It also accepts an action id
from the step's allowed list (``"3"``, ``"#3"``, ``"action 3"``) and canonical strings
(``"Open(chest_red)"``, ``"PickupObject(key)"``). The vocabulary (verbs, object-type synonyms,
colours, ordinals) is data (``embodied/language.yaml``, read by :mod:`.lexicon`); the
interpreter reads the first clear intent of the text (:mod:`.clauses`, :mod:`.intents`) and
resolves object references by id, type, name, colour, ordinal and nearness, preferring visible
or held objects (:mod:`.references`). Anything it cannot ground raises
:class:`~embodied.errors.ActionError` (and nothing else) with a message naming the fix.

The modules: :mod:`.context` (what text is grounded against), :mod:`.grounding` (ids, JSON,
canonical strings; :func:`ground`), :mod:`.clauses`, :mod:`.intents`, :mod:`.references`,
:mod:`.lexicon`.
"""

from __future__ import annotations

from .context import Candidate, Context
from .grounding import by_id, ground
from .lexicon import (
    CODE_TYPES,
    COLORS,
    DIRECTIONS,
    EXAMPLES,
    FILLERS,
    GROUPS,
    LOCK_WORDS,
    MOTION_CLASS,
    MOTION_DEFAULT,
    NEARNESS,
    NEGATIONS,
    ORDINALS,
    PLACE_WORDS,
    PRONOUNS,
    PUT_PREPS,
    REF_FILLERS,
    RELATIONS,
    STOPS,
    SYNONYMS,
    VERBS,
)

__all__ = [
    "CODE_TYPES",
    "COLORS",
    "DIRECTIONS",
    "EXAMPLES",
    "FILLERS",
    "GROUPS",
    "LOCK_WORDS",
    "MOTION_CLASS",
    "MOTION_DEFAULT",
    "NEARNESS",
    "NEGATIONS",
    "ORDINALS",
    "PLACE_WORDS",
    "PRONOUNS",
    "PUT_PREPS",
    "REF_FILLERS",
    "RELATIONS",
    "STOPS",
    "SYNONYMS",
    "VERBS",
    "Candidate",
    "Context",
    "by_id",
    "ground",
]
