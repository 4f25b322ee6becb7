"""Adapters to the standard RL interfaces: Gymnasium (single agent) and PettingZoo (multi-agent)."""
