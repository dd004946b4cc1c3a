"""The key split and payload rules of `plugin/crypto.py`, against plain AES-GCM (cryptography)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ssm_tui.plugin.crypto import DecryptionError, SessionCipher, encryption_context
from ssm_tui.plugin.messages import PayloadType

KEY = os.urandom(64)


def test_agent_to_client_uses_the_first_half_client_to_agent_the_second() -> None:
    agent, client = SessionCipher(KEY, agent=True), SessionCipher(KEY, agent=False)
    sealed = agent.encrypt(b"from the agent")
    assert AESGCM(KEY[:32]).decrypt(sealed[:12], sealed[12:], None) == b"from the agent"
    sealed = client.encrypt(b"from the client")
    assert AESGCM(KEY[32:]).decrypt(sealed[:12], sealed[12:], None) == b"from the client"
    assert client.decrypt(agent.encrypt(b"x")) == b"x"
    assert agent.decrypt(client.encrypt(b"y")) == b"y"


def test_nonces_never_repeat_under_one_key() -> None:
    agent = SessionCipher(KEY, agent=True)
    nonces = {agent.encrypt(b"a")[:12] for _ in range(1000)}
    assert len(nonces) == 1000


def test_which_payload_types_are_encrypted() -> None:
    agent, client = SessionCipher(KEY, agent=True), SessionCipher(KEY, agent=False)
    for kind in (PayloadType.OUTPUT, PayloadType.STDERR, PayloadType.EXIT_CODE):
        assert agent.seal(kind, b"data") != b"data"
        assert client.open(kind, agent.seal(kind, b"data")) == b"data"
    for kind in (PayloadType.SIZE, PayloadType.FLAG, PayloadType.HANDSHAKE_COMPLETE):
        assert agent.seal(kind, b"data") == b"data"
    assert client.seal(PayloadType.OUTPUT, b"keys") != b"keys"
    assert client.seal(PayloadType.SIZE, b'{"cols":80,"rows":24}') == b'{"cols":80,"rows":24}'
    assert client.seal(PayloadType.EXIT_CODE, b"1") == b"1"  # only Output goes client -> agent


def test_tampered_or_plaintext_payloads_do_not_decrypt() -> None:
    agent, client = SessionCipher(KEY, agent=True), SessionCipher(KEY, agent=False)
    sealed = bytearray(agent.encrypt(b"secret"))
    sealed[-1] ^= 1
    with pytest.raises(DecryptionError):
        client.decrypt(bytes(sealed))
    with pytest.raises(DecryptionError):
        client.open(PayloadType.OUTPUT, b"plain keystrokes typed in the clear")
    with pytest.raises(DecryptionError):  # the agent's own direction is not ours to open
        client.decrypt(client.encrypt(b"mine"))


def test_encryption_context_keys() -> None:
    assert encryption_context("s-1", "i-1") == {
        "aws:ssm:SessionId": "s-1",
        "aws:ssm:TargetId": "i-1",
    }
    assert encryption_context("s-1", "i-1", "c")["aws:ssm:RandomChallenge"] == "c"


def test_the_data_key_must_have_64_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SessionCipher(os.urandom(32), agent=False)
