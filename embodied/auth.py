"""Engine access control: tokens (never on a command line) and CURVE encryption (docs/protocol.md).

* A token is a shared secret every request carries. It is read from the environment variable
  ``EMBODIED_ENGINE_TOKEN`` or from a file (``--token-file``), never from argv, where any local
  user could read it with ``ps``. Empty or whitespace-only tokens are refused.
* CURVE (ZeroMQ's CurveZMQ, through pyzmq's ``zmq.auth``) encrypts and authenticates the
  connection; use it whenever the engine listens beyond loopback. Keys are zmq.auth certificate
  files (``make_keys`` writes a pair).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping

import zmq

from .errors import ConfigError

TOKEN_ENV = "EMBODIED_ENGINE_TOKEN"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_token(token: str, where: str = "token") -> str:
    """Return ``token`` if usable; ConfigError for a non-string, empty or whitespace-only token."""
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(
            f"{where} is empty or only whitespace; use a long random string (secrets.token_urlsafe())"
        )
    if token != token.strip():
        raise ConfigError(
            f"{where} starts or ends with whitespace; remove it (a file's final newline is fine)"
        )
    return token


def read_token(token_file: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The token from ``token_file`` (one line; a final newline is dropped), else from
    ``$EMBODIED_ENGINE_TOKEN``, else None. Raises ConfigError for an unreadable file or a blank token."""
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        return check_token(text.removesuffix("\n").removesuffix("\r"), f"the token in {token_file}")
    environ = os.environ if environ is None else environ
    if TOKEN_ENV in environ:
        return check_token(environ[TOKEN_ENV], f"${TOKEN_ENV}")
    return None


def random_token() -> str:
    return secrets.token_urlsafe(32)


def make_keys(directory: str, name: str) -> tuple[str, str]:
    """Write a CURVE key pair ``name.key`` (public) and ``name.key_secret`` into ``directory``
    (created 0700; the secret file 0600). Returns (public file, secret file)."""
    import zmq.auth

    os.makedirs(directory, mode=0o700, exist_ok=True)
    public, secret = zmq.auth.create_certificates(directory, name)
    os.chmod(secret, 0o600)
    return public, secret


def load_public(path: str) -> bytes:
    import zmq.auth

    try:
        public, _ = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the CURVE key {path}: {exc}") from None
    return public


def load_pair(path: str) -> tuple[bytes, bytes]:
    import zmq.auth

    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the CURVE key {path}: {exc}") from None
    if not secret:
        raise ConfigError(f"{path} holds no secret key; pass the '.key_secret' file")
    return public, secret


def serve_curve(ctx: zmq.Context, sock: zmq.Socket, secret_file: str, clients_dir: str | None = None):
    """Make ``sock`` (before bind) a CURVE server. ``clients_dir``: only clients whose public keys
    are there may connect; None: any client that knows the server's public key. Returns the
    authenticator (stop() it on exit)."""
    from zmq.auth.thread import ThreadAuthenticator

    public, secret = load_pair(secret_file)
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_curve(domain="*", location=clients_dir if clients_dir else zmq.auth.CURVE_ALLOW_ANY)
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_server = True
    return auth


def client_curve(sock: zmq.Socket, server_key_file: str, client_secret_file: str | None = None) -> None:
    """Make ``sock`` (before connect) a CURVE client of the server whose public key file is given;
    without a client key pair an ephemeral one is made (fine unless the server lists clients)."""
    sock.curve_serverkey = load_public(server_key_file)
    if client_secret_file:
        public, secret = load_pair(client_secret_file)
    else:
        public, secret = zmq.curve_keypair()
    sock.curve_publickey, sock.curve_secretkey = public, secret
