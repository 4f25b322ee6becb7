"""The side channel that carries our scene commands between Python and the Unity side.

Channel id :data:`CHANNEL_ID`. Every message is one msgpack map. Python -> Unity:
``{"id": n, "op": "load_scene"|"update"|"camera"|"render"|"set_scene"|"info", ...}`` with the
fields of the engine protocol (docs/protocol.md): ``nodes``/``name``/``background``, ``updates``,
``cameras``, ``agents``/``modalities``, ``scene`` (a task or shipped scene name). Unity -> Python:
``{"id": n, "ok": true, ...}`` or ``{"id": n, "ok": false, "error": "..."}``; a render reply carries
``depth``/``seg`` as raw little-endian float32/int32 bytes per agent (the rgb frame travels as
the agent's visual observation). Nothing received is evaluated.

The wire framing of side-channel data inside ML-Agents messages (both directions):
``16 bytes channel uuid (bytes_le) | int32 LE length | payload``, repeated.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator

import msgpack

from embodied.errors import ProtocolError

CHANNEL_ID = uuid.UUID("6f3f6d2e-5a36-4f8e-9b0e-656d626f6469")
MAX_MESSAGE = 64 * 1024 * 1024


def pack(obj: dict) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data: bytes) -> dict:
    obj = msgpack.unpackb(bytes(data), raw=False, strict_map_key=True)
    if not isinstance(obj, dict):
        raise ProtocolError(f"a scene-channel message must be a msgpack map, got {type(obj).__name__}")
    return obj


def frames(data: bytes) -> Iterator[tuple[uuid.UUID, bytes]]:
    """Split side-channel data into ``(channel id, payload)`` pairs; ProtocolError when malformed."""
    offset, data = 0, bytes(data)
    while offset < len(data):
        if offset + 20 > len(data):
            raise ProtocolError(f"truncated side-channel header: {len(data) - offset} bytes, a header is 20")
        cid = uuid.UUID(bytes_le=data[offset : offset + 16])
        (n,) = struct.unpack_from("<i", data, offset + 16)
        offset += 20
        if n < 0 or n > MAX_MESSAGE or offset + n > len(data):
            raise ProtocolError(
                f"bad side-channel message length {n}: must be 0..{MAX_MESSAGE} and within the data"
            )
        yield cid, data[offset : offset + n]
        offset += n


def frame(payload: bytes, cid: uuid.UUID = CHANNEL_ID) -> bytes:
    return cid.bytes_le + struct.pack("<i", len(payload)) + payload


def scene_channel():
    """A python-side ``SideChannel`` on :data:`CHANNEL_ID` that queues requests and keeps replies."""
    from mlagents_envs.side_channel.outgoing_message import OutgoingMessage
    from mlagents_envs.side_channel.side_channel import SideChannel

    class SceneChannel(SideChannel):
        def __init__(self):
            super().__init__(CHANNEL_ID)
            self.replies: dict[int, dict] = {}
            self._next = 0

        def request(self, op: str, **fields) -> int:
            self._next += 1
            msg = OutgoingMessage()
            msg.set_raw_bytes(pack({"id": self._next, "op": op, **fields}))
            self.queue_message_to_send(msg)
            return self._next

        def on_message_received(self, msg) -> None:
            try:
                reply = unpack(msg.get_raw_bytes())
            except Exception as exc:  # a broken reply is kept as an error, never raised in the client
                reply = {"id": -1, "ok": False, "error": f"unreadable scene-channel reply: {exc}"}
            self.replies[int(reply.get("id", -1))] = reply

    return SceneChannel()
