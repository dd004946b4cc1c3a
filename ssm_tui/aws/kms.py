"""kms:GenerateDataKey for a KMS-encrypted session, with the session's own credentials.

The official plugin makes this call with the profile and region aws-cli gave it on its command
line (`src/encryption/kmsservice.go`: the default SDK session of that profile/region); so do we,
through botocore's chain for the profile (which also honours AWS_ENDPOINT_URL / a profile's
`endpoint_url`, so the sandbox's KMS answers it). A refusal becomes one sentence that names the
action and the key, because "the session failed" tells an operator nothing: the usual cause is a
role whose policy lacks kms:GenerateDataKey on the key the Session Manager preferences name.
"""

from __future__ import annotations

import os

from botocore import exceptions as bce

from ssm_tui.aws import clients
from ssm_tui.aws.errors import SsmTuiError, raise_for

DATA_KEY_BYTES = 64


class KmsError(SsmTuiError):
    """GenerateDataKey failed; the message names the action, the key and the reason."""

    code = "KmsError"


async def generate_data_key(
    profile: str | None, region: str | None, key_id: str, context: dict[str, str]
) -> tuple[bytes, bytes]:
    """(CiphertextBlob, Plaintext) of a 64-byte data key bound to `context`."""
    try:
        async with clients.client("kms", profile or None, region or None) as kms:
            reply = await kms.generate_data_key(
                KeyId=key_id, NumberOfBytes=DATA_KEY_BYTES, EncryptionContext=context
            )
    except bce.ClientError as exc:
        raise _explain(exc, profile, key_id) from None
    except SsmTuiError:
        raise
    except Exception as exc:  # credentials, network: the shared explanations apply
        raise KmsError(
            f"kms:GenerateDataKey on key {key_id} failed: {raise_for(exc, profile)}"
        ) from None
    return bytes(reply["CiphertextBlob"]), bytes(reply["Plaintext"])


def _explain(exc: bce.ClientError, profile: str | None, key_id: str) -> KmsError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "") or exc)
    who = profile or os.environ.get("AWS_PROFILE") or "the default credentials"
    if code in ("AccessDeniedException", "AccessDenied"):
        err = KmsError(
            f"kms:GenerateDataKey on key {key_id} was denied for {who}: this session is "
            f"encrypted with that KMS key (Session Manager preferences) and the credentials "
            f"may not use it. AWS said: {message}",
            f"ask for kms:GenerateDataKey on {key_id} in the role's policy (or the key policy)",
        )
    elif code in ("NotFoundException", "DisabledException", "KMSInvalidStateException"):
        err = KmsError(
            f"kms:GenerateDataKey on key {key_id} failed ({code}): {message}",
            "the Session Manager preferences name a KMS key that cannot be used",
        )
    else:
        err = KmsError(f"kms:GenerateDataKey on key {key_id} failed ({code}): {message}")
    err.code = code or err.code
    return err
