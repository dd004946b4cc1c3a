"""KMS encryption of a Session Manager data channel: the key split, AES-GCM, the challenge.

Both ends use this module: our client (`plugin/client.py`) and the sandbox playing the agent
(`sandbox/kms.py`). What it does is read from the source, not guessed:

- The client calls kms:GenerateDataKey for the KMSKeyId the agent names, `NumberOfBytes=64`,
  encryption context `{"aws:ssm:SessionId": id, "aws:ssm:TargetId": target}` (plugin
  `src/encryption/kmsservice.go`, `src/datachannel/streaming.go`
  `ProcessKMSEncryptionHandshakeAction`), and answers the handshake with the ciphertext key
  (`KMSCipherTextKey`, base64 as Go marshals []byte). The agent decrypts it with kms:Decrypt and
  the same context (agent `agent/session/crypto/blockcipher.go` `UpdateEncryptionKey`).
- Agents that send a `Challenge` in the KMSEncryption parameters also accept
  `ChallengeAcknowledgement: true`, which adds `"aws:ssm:RandomChallenge": challenge` to the
  context on both sides (agent `datachannel.go` `finalizeKMSEncryption`). The 1.2.0.0 plugin never
  acknowledges it; we do, which binds the data key to this one handshake.
- The 64-byte plaintext key is split in halves: bytes 0-31 encrypt agent -> client, bytes 32-63
  encrypt client -> agent (agent: encryptionKey = first half; plugin: decryptionKey = first half).
- Each encrypted payload is nonce (12 bytes) || AES-256-GCM ciphertext+tag, no associated data.
- Encrypted payload types: agent -> client Output, StdErr, ExitCode (agent `SendStreamDataMessage`);
  client -> agent Output only (plugin `SendInputDataMessage`, agent `processStreamDataMessage`).
  Size, Flag and the handshake messages stay plaintext.
- After the HandshakeResponse the agent sends EncChallengeRequest `{"Challenge": base64(enc(64
  random bytes))}`; the client decrypts with its agent->client key, re-encrypts with its
  client->agent key and sends EncChallengeResponse; only then comes HandshakeComplete.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from typing import Any

from ssm_tui.plugin.messages import MessageDecodeError, PayloadType

DATA_KEY_BYTES = 64
"""NumberOfBytes of kms:GenerateDataKey (`KMSKeySizeInBytes` in both the agent and the plugin)."""
NONCE_SIZE = 12
CHALLENGE_SIZE = 64
"""Random bytes in the agent's EncChallengeRequest (`sendEncryptionChallenge`)."""
RANDOM_CHALLENGE_SIZE = 16
"""Random bytes (base64 in the request) of the agent's encryption-context challenge."""

SESSION_ID_KEY = "aws:ssm:SessionId"
TARGET_ID_KEY = "aws:ssm:TargetId"
RANDOM_CHALLENGE_KEY = "aws:ssm:RandomChallenge"

AGENT_TO_CLIENT_ENCRYPTED = frozenset(
    {PayloadType.OUTPUT, PayloadType.STDERR, PayloadType.EXIT_CODE}
)
CLIENT_TO_AGENT_ENCRYPTED = frozenset({PayloadType.OUTPUT})

ENCRYPTED_CUSTOMER_MESSAGE = "This session is encrypted using AWS KMS."
"""What the agent appends to HandshakeComplete's CustomerMessage (`buildHandshakeCompletePayload`).
"""


class DecryptionError(MessageDecodeError):
    """A payload that does not decrypt with the session's key (tampered, wrong key, plaintext)."""


def encryption_context(session_id: str, target_id: str, challenge: str | None = None) -> dict:
    """The KMS encryption context both ends must use, byte for byte."""
    context = {SESSION_ID_KEY: session_id, TARGET_ID_KEY: target_id}
    if challenge is not None:
        context[RANDOM_CHALLENGE_KEY] = challenge
    return context


class _NonceCounter:
    """Random start, then +1 per message (little-endian), as the agent's `NonceGenerator` does.

    A counter never repeats a nonce under one key, which random nonces only make unlikely.
    """

    def __init__(self) -> None:
        self._value = int.from_bytes(os.urandom(NONCE_SIZE), "little")

    def next(self) -> bytes:
        nonce = self._value.to_bytes(NONCE_SIZE, "little")
        self._value = (self._value + 1) % (1 << (8 * NONCE_SIZE))
        return nonce


class SessionCipher:
    """One end's pair of AES-GCM keys, from the 64-byte data key."""

    def __init__(self, plaintext_key: bytes, *, agent: bool) -> None:
        if len(plaintext_key) != DATA_KEY_BYTES:
            raise ValueError(f"the data key has {len(plaintext_key)} bytes, not {DATA_KEY_BYTES}")
        # imported here: ~50 ms that sessions without KMS (and the sandbox's start) never pay
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        half = DATA_KEY_BYTES // 2
        agent_to_client = AESGCM(plaintext_key[:half])
        client_to_agent = AESGCM(plaintext_key[half:])
        self.agent = agent
        self._seal = agent_to_client if agent else client_to_agent
        self._open = client_to_agent if agent else agent_to_client
        self._nonces = _NonceCounter()

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = self._nonces.next()
        return nonce + self._seal.encrypt(nonce, plaintext, None)

    def decrypt(self, data: bytes) -> bytes:
        if len(data) < NONCE_SIZE + 16:
            raise DecryptionError("encrypted payload too short")
        from cryptography.exceptions import InvalidTag

        try:
            return self._open.decrypt(data[:NONCE_SIZE], data[NONCE_SIZE:], None)
        except InvalidTag:
            raise DecryptionError("payload does not decrypt with the session key") from None

    # -- by payload type --

    def seal(self, payload_type: int, payload: bytes) -> bytes:
        """Encrypt an outgoing payload if this direction encrypts its type."""
        kinds = AGENT_TO_CLIENT_ENCRYPTED if self.agent else CLIENT_TO_AGENT_ENCRYPTED
        return self.encrypt(payload) if payload_type in kinds and payload else payload

    def open(self, payload_type: int, payload: bytes) -> bytes:
        """Decrypt an incoming payload if the other direction encrypts its type."""
        kinds = CLIENT_TO_AGENT_ENCRYPTED if self.agent else AGENT_TO_CLIENT_ENCRYPTED
        return self.decrypt(payload) if payload_type in kinds and payload else payload


# --- JSON shapes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KmsRequest:
    """The KMSEncryption action's parameters in the HandshakeRequest."""

    key_id: str
    challenge: str | None


def parse_kms_request(parameters: Any) -> KmsRequest:
    params = parameters if isinstance(parameters, dict) else {}
    key_id = params.get("KMSKeyId")
    if not isinstance(key_id, str) or not key_id:
        raise MessageDecodeError("KMSEncryption action without a KMSKeyId")
    challenge = params.get("Challenge")
    return KmsRequest(key_id, challenge if isinstance(challenge, str) and challenge else None)


def kms_request_action(key_id: str, challenge: str) -> dict[str, Any]:
    return {
        "ActionType": "KMSEncryption",
        "ActionParameters": {"KMSKeyId": key_id, "Challenge": challenge},
    }


def kms_response_result(ciphertext_key: bytes, challenge_acknowledged: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "KMSCipherTextKey": base64.b64encode(ciphertext_key).decode("ascii"),
        "KMSCipherTextHash": None,
    }
    if challenge_acknowledged:
        result["ChallengeAcknowledgement"] = True
    return result


@dataclass(frozen=True, slots=True)
class KmsResponse:
    ciphertext_key: bytes
    challenge_acknowledged: bool


def parse_kms_response(result: Any) -> KmsResponse:
    if not isinstance(result, dict):
        raise MessageDecodeError("KMSEncryption result is not an object")
    return KmsResponse(
        ciphertext_key=_b64(result.get("KMSCipherTextKey"), "KMSCipherTextKey"),
        challenge_acknowledged=result.get("ChallengeAcknowledgement") is True,
    )


def challenge_payload(encrypted: bytes) -> bytes:
    """EncChallengeRequest / EncChallengeResponse body (Go marshals []byte as base64)."""
    return json.dumps({"Challenge": base64.b64encode(encrypted).decode("ascii")}).encode()


def parse_challenge(payload: bytes) -> bytes:
    try:
        body = json.loads(payload)
    except ValueError:
        raise MessageDecodeError("encryption challenge is not JSON") from None
    if not isinstance(body, dict):
        raise MessageDecodeError("encryption challenge is not an object")
    return _b64(body.get("Challenge"), "Challenge")


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise MessageDecodeError(f"{what} missing")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MessageDecodeError(f"{what} is not base64") from None
