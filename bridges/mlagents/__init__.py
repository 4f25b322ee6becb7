"""The Unity bridge: drive ML-Agents builds, and play the Unity side of ML-Agents from the
embedded engine (docs/unity.md).

- ``embodied.launch(engine="unity", build=PATH)``: :func:`embodied.bridges.mlagents.backend.launch`;
- ``embodied-unity-player``: :mod:`embodied.bridges.mlagents.player`;
- :func:`~embodied.bridges.mlagents.environment.open_unity`: the genuine ``UnityEnvironment`` on
  127.0.0.1 with an automatic port;
- Gymnasium and PettingZoo wrappers: :mod:`embodied.bridges.mlagents.wrappers`.
"""
