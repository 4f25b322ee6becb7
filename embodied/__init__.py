"""embodied: a Python platform for embodied-AI research."""
__version__ = "0.1.0"
