"""``embodied engine serve [--protocol embodied|unrealcv] ...``: run the embedded engine as a server.

``embodied`` (the default): our ZeroMQ engine protocol (docs/protocol.md); ``unrealcv``: the
UnrealCV wire protocol for the genuine ``unrealcv`` client (docs/unreal.md). The other
options go to the chosen server (``--help`` after the protocol lists them).
"""

from __future__ import annotations

import sys

PROTOCOLS = {
    "embodied": "embodied.bridges.panda3d.server",
    "zmq": "embodied.bridges.panda3d.server",
    "unrealcv": "embodied.bridges.unrealcv.server",
}


def main(argv: list[str], prog: str = "embodied engine serve") -> int:
    argv, protocol = list(argv), "embodied"
    if {"-h", "--help"} & set(argv) and not any(a.split("=")[0] == "--protocol" for a in argv):
        prog += " [--protocol embodied|unrealcv]"  # (the default's --help: name the other protocol)
    for i, a in enumerate(argv):
        if a == "--protocol" or a.startswith("--protocol="):
            value = a.split("=", 1)[1] if "=" in a else (argv[i + 1] if i + 1 < len(argv) else "")
            del argv[i : i + (1 if "=" in a else 2)]
            protocol = value
            break
    if protocol not in PROTOCOLS:
        print(
            f"{prog}: error: unknown --protocol {protocol!r}; choose one of {', '.join(sorted(PROTOCOLS))}",
            file=sys.stderr,
        )
        return 2
    import importlib

    return importlib.import_module(PROTOCOLS[protocol]).main(argv, prog=prog)
