"""KMS-encrypted sessions in the sandbox: the preference, the keys, and the agent's side.

`ssm-tui sandbox --kms` (or `POST /_sandbox/kms {"enabled": true}` at run time) creates one
symmetric key per account and region in moto's KMS and names it as `kmsKeyId` in that account's
`SSM-SessionManagerRunShell` preferences, as an administrator who enforces KMS does. StartSession
then hands the key id to the session (`ssm_api`), and the data channel plays the agent
(`agent/session/plugins/sessionplugin/sessionplugin.go` `isEncryptionEnabled`: every session type
but Port is encrypted when the preferences name a key; `agent/session/datachannel/datachannel.go`
`PerformHandshake`): a KMSEncryption action in the HandshakeRequest, kms:Decrypt of the client's
data key with the agent's encryption context, the encryption challenge, AES-GCM payloads
(the shapes and key halves are in `ssm_tui/plugin/crypto.py`).

`{"deny_profile": NAME}` makes kms:* calls made with that profile's credentials fail with
AccessDeniedException, as for a role whose policy lacks kms:GenerateDataKey.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ssm_tui.plugin.crypto import (
    CHALLENGE_SIZE,
    ENCRYPTED_CUSTOMER_MESSAGE,  # noqa: F401 - the data channel's HandshakeComplete text
    RANDOM_CHALLENGE_SIZE,
    SessionCipher,
    challenge_payload,
    encryption_context,
    kms_request_action,
    parse_challenge,
    parse_kms_response,
)
from ssm_tui.plugin.messages import KMS_ENCRYPTION_ACTION, PORT_SESSION_TYPE, ProtocolError
from ssm_tui.sandbox.errors import Reply
from ssm_tui.sandbox.world import ACCOUNTS, REGIONS

log = logging.getLogger(__name__)

SHELL_DOCUMENT = "SSM-SessionManagerRunShell"
KEY_ALIAS = "alias/ssm-tui-sessions"
KEY_DESCRIPTION = "Session Manager session encryption (ssm-tui sandbox)"
HANDSHAKE_TIMEOUT = 15.0
"""The agent's `handshakeTimeout` for each step, the encryption challenge included."""
CHALLENGE_TIMEOUT = "Timed out waiting for encryption challenge."


@dataclass(slots=True)
class KmsState:
    """The switch, read live by StartSession and the front router."""

    enabled: bool = False
    deny_profile: str | None = None
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    """(account, region) -> key ARN, created on first enable and kept (keys outlive the switch)."""
    documents_ready: bool = False
    """moto's SSM documents exist (the server seeds them in the background after start)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "deny_profile": self.deny_profile,
            "keys": {f"{a}/{r}": arn for (a, r), arn in sorted(self.keys.items())},
        }


STATE = KmsState()
_LOCK = threading.Lock()


def update(changes: dict[str, Any], profile_names: list[str]) -> dict[str, Any]:
    """Apply `{"enabled": bool, "deny_profile": name|null}` (the admin endpoint; any thread)."""
    unknown = set(changes) - {"enabled", "deny_profile"}
    if unknown:
        raise ValueError(f"unknown kms setting(s): {', '.join(sorted(unknown))}")
    if "deny_profile" in changes:
        name = changes["deny_profile"] or None
        if name is not None and name not in profile_names:
            raise ValueError(f"deny_profile {name!r}: not one of {', '.join(profile_names)}")
        STATE.deny_profile = name
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise ValueError("enabled must be true or false")
        set_enabled(changes["enabled"])
    return STATE.as_dict()


def set_enabled(enabled: bool) -> None:
    """Turn the preference on or off in every account and region (creating the keys once)."""
    with _LOCK:
        STATE.enabled = enabled
        if enabled:
            _create_keys()
        if STATE.documents_ready:
            _write_preferences()


def documents_seeded() -> None:
    """moto's Session documents now exist: write the preference into them (server thread)."""
    with _LOCK:
        STATE.documents_ready = True
        if STATE.enabled:
            _write_preferences()


def planned_key(account_id: str, region: str) -> str:
    """The preference's key before moto's documents exist (StartSession's fast path)."""
    return STATE.keys.get((account_id, region), "") if STATE.enabled else ""


def _create_keys() -> None:
    from moto.kms.models import kms_backends

    for account_id in ACCOUNTS.values():
        for region in REGIONS:
            if (account_id, region) in STATE.keys:
                continue
            backend = kms_backends[account_id][region]
            key = backend.create_key(
                None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", KEY_DESCRIPTION, None
            )
            backend.create_alias(key.id, KEY_ALIAS)
            STATE.keys[(account_id, region)] = key.arn


def _write_preferences() -> None:
    """UpdateDocument + UpdateDocumentDefaultVersion, as the console's preferences page does."""
    from moto.ssm.models import ssm_backends

    for account_id in ACCOUNTS.values():
        for region in REGIONS:
            backend = ssm_backends[account_id][region]
            versions = backend._documents.get(SHELL_DOCUMENT)
            if versions is None:
                continue
            current = versions.get_default_version()
            content = json.loads(current.content)
            wanted = STATE.keys.get((account_id, region), "") if STATE.enabled else ""
            inputs = content.setdefault("inputs", {})
            if inputs.get("kmsKeyId", "") == wanted:
                continue
            inputs["kmsKeyId"] = wanted
            text = json.dumps(content)
            # moto refuses a version whose content an older one has: switch back to that one
            same = [v for v in versions.versions.values() if v.content == text]
            if same:
                version = same[0].document_version
            else:
                result = backend.update_document(
                    text, [], SHELL_DOCUMENT, "", "$LATEST", "JSON", ""
                )
                version = result["DocumentVersion"]
            backend.update_document_default_version(SHELL_DOCUMENT, version)


# --- the front router: kms permission ----------------------------------------------------------


def denied_reply(
    target_header: str, body: bytes, caller_arn: str, account_id: str, region: str
) -> Reply:
    """AccessDeniedException as KMS answers a caller whose policy lacks the action."""
    operation = target_header.split(".", 1)[-1] or "GenerateDataKey"
    try:
        key = str(json.loads(body or b"{}").get("KeyId") or "")
    except (ValueError, AttributeError):
        key = ""
    if key and not key.startswith("arn:"):
        key = f"arn:aws:kms:{region}:{account_id}:key/{key}"
    message = (
        f"User: {caller_arn} is not authorized to perform: kms:{operation} on resource: "
        f"{key or '*'} because no identity-based policy allows the kms:{operation} action"
    )
    payload = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    return Reply(400, [(b"content-type", b"application/x-amz-json-1.1")], payload)


# --- the agent's side of one session -----------------------------------------------------------


class EncryptionSetupError(ProtocolError):
    """The client's KMSEncryption answer or challenge failed: the agent ends the session."""


Decrypt = Callable[[bytes, dict[str, str], str], bytes]


def _moto_decrypt(account_id: str, region: str) -> Decrypt:
    def decrypt(ciphertext: bytes, context: dict[str, str], key_id: str) -> bytes:
        from moto.kms.models import kms_backends

        plaintext, _arn = kms_backends[account_id][region].decrypt(ciphertext, context, key_id)
        return plaintext

    return decrypt


class AgentEncryption:
    """What `BlockCipher` + the handshake hold for one encrypted session, on the agent's side."""

    def __init__(self, key_id: str, session_id: str, target_id: str, decrypt: Decrypt) -> None:
        self.key_id = key_id
        self.session_id = session_id
        self.target_id = target_id
        self.random_challenge = base64.b64encode(os.urandom(RANDOM_CHALLENGE_SIZE)).decode()
        self._decrypt = decrypt
        self.cipher: SessionCipher | None = None
        self._challenge: bytes | None = None
        self.confirmed = False

    def request_action(self) -> dict[str, Any]:
        return kms_request_action(self.key_id, self.random_challenge)

    def finalize(self, processed_actions: tuple[dict[str, Any], ...]) -> None:
        """The HandshakeResponse's KMSEncryption entry: decrypt the data key (kms:Decrypt)."""
        action = next(
            (a for a in processed_actions if a.get("ActionType") == KMS_ENCRYPTION_ACTION), None
        )
        if action is None:
            raise EncryptionSetupError("the client did not answer the KMSEncryption action")
        if action.get("ActionStatus") != 1:
            raise EncryptionSetupError(
                f"KMSEncryption failed on client with status {action.get('ActionStatus')} "
                f"error: {action.get('Error') or ''}"
            )
        response = parse_kms_response(action.get("ActionResult"))
        context = encryption_context(
            self.session_id,
            self.target_id,
            self.random_challenge if response.challenge_acknowledged else None,
        )
        try:
            plaintext = self._decrypt(response.ciphertext_key, context, self.key_id)
            self.cipher = SessionCipher(plaintext, agent=True)
        except Exception as exc:  # noqa: BLE001 - moto's KMS errors, a wrong-sized key
            raise EncryptionSetupError(f"Fetching data key failed: {exc!r}") from None

    def challenge_request(self) -> bytes:
        assert self.cipher is not None
        self._challenge = os.urandom(CHALLENGE_SIZE)
        return challenge_payload(self.cipher.encrypt(self._challenge))

    def verify(self, payload: bytes) -> None:
        if self.cipher is None or self._challenge is None:
            raise EncryptionSetupError("encryption challenge response before the challenge")
        answer = self.cipher.decrypt(parse_challenge(payload))
        if answer != self._challenge:
            raise EncryptionSetupError("Encryption challenge does not match!")
        self.confirmed = True


def for_session(session: Any, session_type: str) -> AgentEncryption | None:
    """The agent's `isEncryptionEnabled`: a key in the preferences and not a Port session."""
    key_id = getattr(session, "kms_key_id", "") or ""
    if not key_id or session_type == PORT_SESSION_TYPE:
        return None
    return AgentEncryption(
        key_id,
        session.session_id,
        session.target,
        _moto_decrypt(session.account_id, session.region),
    )
