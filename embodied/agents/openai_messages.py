"""The messages of each request of an ``openai:MODEL`` agent: the system prompt, the earlier turns
its history mode keeps (their text, frame and answer), and the current turn."""

from __future__ import annotations

from typing import Any


class Conversation:
    """One episode's turns. ``history``: ``none`` | ``last`` (the last ``history_k`` turns) |
    ``keyframes`` (the last ``history_k`` key frames) | ``full``; ``detail``: the OpenAI image detail."""

    def __init__(self, history: str, history_k: int, detail: str):
        self.history, self.history_k, self.detail = history, history_k, detail
        self.turns: list[dict[str, Any]] = []  # past turns: text, image, answer, keyframe

    def add(self, text: str, image: str | None, answer: str, key: bool) -> None:
        """Keep a finished turn (``key``: a key frame)."""
        self.turns.append({"text": text, "image": image, "answer": answer, "key": key})

    def user(self, text: str, image: str | None) -> dict[str, Any]:
        """A user message: the text, and the frame (a data URL) at this detail unless None."""
        if image is None:
            return {"role": "user", "content": text}
        return {
            "role": "user",
            "content": [
                {"type": "text", "text": text},
                {"type": "image_url", "image_url": {"url": image, "detail": self.detail}},
            ],
        }

    def messages(self, system: str, text: str, image: str | None) -> list[dict[str, Any]]:
        """The request: ``system``, the kept turns, then this turn's ``text`` and ``image``."""
        msgs: list[dict[str, Any]] = [{"role": "system", "content": system}]
        past = self.turns
        if self.history == "none":
            past = []
        elif self.history == "last":
            past = past[-self.history_k :] if self.history_k > 0 else []
        elif self.history == "keyframes":
            past = [t for t in past if t["key"]][-self.history_k :] if self.history_k > 0 else []
        for t in past:
            msgs.append(self.user(t["text"], t["image"]))
            msgs.append({"role": "assistant", "content": t["answer"] or "(no answer)"})
        msgs.append(self.user(text, image))
        return msgs
