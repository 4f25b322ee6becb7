"""Errors the bridges raise on purpose are EmbodiedError subclasses whose message says what would work
(they were bare ValueErrors)."""

from __future__ import annotations

import struct

import msgpack
import pytest

from embodied.errors import ConfigError, EmbodiedError, ProtocolError


def test_unknown_shape_and_material_name_the_valid_ones():
    from embodied.bridges.panda3d.geometry import UNIT_SHAPES, unit_polys
    from embodied.bridges.panda3d.textures import MATERIALS, pattern

    with pytest.raises(ConfigError, match=r"unknown shape 'hexagon'; use one of .*box") as e:
        unit_polys("hexagon")
    assert all(s in str(e.value) for s in UNIT_SHAPES)
    with pytest.raises(ConfigError, match=r"unknown material 'lava'; use one of .*plaster") as e:
        pattern("lava")
    assert all(m in str(e.value) for m in MATERIALS)


def test_malformed_side_channel_data_is_a_protocol_error():
    from embodied.bridges.mlagents import channel as C

    with pytest.raises(ProtocolError, match="must be a msgpack map, got list"):
        C.unpack(msgpack.packb([1, 2]))
    with pytest.raises(ProtocolError, match="truncated side-channel header: 3 bytes"):
        list(C.frames(b"abc"))
    with pytest.raises(ProtocolError, match="bad side-channel message length 99"):
        list(C.frames(C.CHANNEL_ID.bytes_le + struct.pack("<i", 99) + b"x"))


def test_wrapper_space_errors_are_config_errors():
    pytest.importorskip("mlagents_envs")
    from embodied.bridges.mlagents.wrappers import _act_space
    from mlagents_envs.base_env import ActionSpec, BehaviorSpec

    spec = BehaviorSpec(observation_specs=[], action_spec=ActionSpec(2, (3,)))
    with pytest.raises(ConfigError, match=r"hybrid .* use mlagents_envs directly"):
        _act_space(spec)


def test_player_replies_name_the_fix():
    pytest.importorskip("mlagents_envs")
    from embodied.bridges.mlagents.player import Game, parse_args

    game = Game(parse_args(["--render-only", "--width", "32", "--height", "32"]))
    try:
        err = game.command({"id": 1, "op": "bogus"})["error"]
        assert err.startswith("ProtocolError: unknown op 'bogus'; expected set_scene")
        err = game.command({"id": 2, "op": "render"})["error"]
        assert err == "ProtocolError: 'render' before load_scene; send load_scene first"
    finally:
        game.close()
    assert issubclass(ProtocolError, EmbodiedError) and issubclass(ConfigError, EmbodiedError)
