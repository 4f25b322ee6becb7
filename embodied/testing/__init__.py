"""Test helpers users may use too: a local OpenAI-compatible server (:mod:`embodied.testing.openai_server`)."""

from .openai_server import FakeOpenAI, Reply, Request, refused_base_url

__all__ = ["FakeOpenAI", "Reply", "Request", "refused_base_url"]
