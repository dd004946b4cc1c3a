"""Seed moto's in-process backends with what a real multi-account setup has.

Seeding goes straight into the backends (no HTTP): an IAM user with access keys in the management
account, account aliases, the organization with fixed account ids, the Session documents every
region has (including `SSM-SessionManagerRunShell` with its logging preferences), and the log group
and bucket those preferences name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from unittest import mock

from ssm_tui.sandbox.commands import AWS_COMMAND_DOCUMENTS
from ssm_tui.sandbox.sessions import LoggingPrefs
from ssm_tui.sandbox.world import (
    ACCOUNT_ALIASES,
    ACCOUNT_EMAILS,
    ACCOUNTS,
    MANAGEMENT_ACCOUNT,
    PROFILES,
    REGIONS,
    USER_NAME,
)

LOG_GROUP = "/acme/ssm/sessions"
S3_PREFIX = "session-logs/"
SHELL_DOCUMENT = "SSM-SessionManagerRunShell"


def bucket_name(account_id: str, region: str) -> str:
    return f"acme-ssm-sessions-{account_id}-{region}"


def logging_prefs(account_id: str, region: str) -> LoggingPrefs:
    return LoggingPrefs(
        log_group=LOG_GROUP, s3_bucket=bucket_name(account_id, region), s3_prefix=S3_PREFIX
    )


def _shell_document(account_id: str, region: str) -> dict[str, object]:
    return {
        "schemaVersion": "1.0",
        "description": "Document to hold regional settings for Session Manager",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": bucket_name(account_id, region),
            "s3KeyPrefix": S3_PREFIX,
            "s3EncryptionEnabled": False,
            "cloudWatchLogGroupName": LOG_GROUP,
            "cloudWatchEncryptionEnabled": False,
            "cloudWatchStreamingEnabled": False,
            "idleSessionTimeout": "20",
            "maxSessionDuration": "",
            "kmsKeyId": "",
            "runAsEnabled": False,
            "runAsDefaultUser": "",
            "shellProfile": {"windows": "", "linux": ""},
        },
    }


# name -> (sessionType, parameters); shapes follow the AWS-owned documents.
_SESSION_DOCUMENTS: dict[str, tuple[str, dict[str, dict[str, object]]]] = {
    "AWS-StartInteractiveCommand": (
        "InteractiveCommands",
        {"command": {"type": "String", "description": "The shell command to run."}},
    ),
    "AWS-StartNonInteractiveCommand": (
        "NonInteractiveCommands",
        {"command": {"type": "String", "description": "The shell command to run."}},
    ),
    "AWS-StartPortForwardingSession": (
        "Port",
        {
            "portNumber": {"type": "String", "default": "80", "description": "Remote port"},
            "localPortNumber": {"type": "String", "default": "0", "description": "Local port"},
        },
    ),
    "AWS-StartPortForwardingSessionToRemoteHost": (
        "Port",
        {
            "host": {"type": "String", "description": "Remote host"},
            "portNumber": {"type": "String", "default": "80", "description": "Remote port"},
            "localPortNumber": {"type": "String", "default": "0", "description": "Local port"},
        },
    ),
    "AWS-StartSSHSession": (
        "Port",
        {"portNumber": {"type": "String", "default": "22", "description": "SSH port"}},
    ),
}
SESSION_DOCUMENT_NAMES: tuple[str, ...] = (SHELL_DOCUMENT, *_SESSION_DOCUMENTS)


def document_parameters(name: str) -> dict[str, dict[str, object]]:
    """Declared parameters of a seeded Session document (the shell document has none)."""
    return _SESSION_DOCUMENTS.get(name, ("Standard_Stream", {}))[1]


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


def seed_moto() -> Credentials:
    """Create the accounts' state; return the IAM user's access key for the credentials file."""
    from moto.iam.models import iam_backends

    management_iam = iam_backends[MANAGEMENT_ACCOUNT]["aws"]
    management_iam.create_user(region_name="us-east-1", user_name=USER_NAME)
    key = management_iam.create_access_key(USER_NAME)
    for account_id, alias in ACCOUNT_ALIASES.items():
        iam = iam_backends[account_id]["aws"]
        iam.create_account_alias(alias)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT_ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    for profile in PROFILES:
        if profile.role_arn:
            account_id = profile.role_arn.split(":")[4]
            role_name = profile.role_arn.rsplit("/", 1)[-1]
            iam = iam_backends[account_id]["aws"]
            if role_name not in {role.name for role in iam.roles.values()}:
                iam.create_role(
                    role_name=role_name,
                    assume_role_policy_document=trust,
                    path="/",
                    permissions_boundary=None,
                    description=f"{role_name} (ssm-tui sandbox)",
                    tags=[],
                    max_session_duration="3600",
                    linked_service=None,
                )
    _seed_organization()
    for account_id in ACCOUNTS.values():
        for region in REGIONS:
            _seed_logging_destinations(account_id, region)
    return Credentials(key.access_key_id, key.secret_access_key)


def seed_ssm_documents() -> None:
    """The Session documents of every account and region.

    Separate from `seed_moto` because importing moto's SSM models pulls in all of moto's EC2
    (about 1.5 s): the sandbox announces itself first and seeds these in the background, and
    the front router holds back any SSM call that needs them until this has run.
    """
    for account_id in ACCOUNTS.values():
        for region in REGIONS:
            _seed_documents(account_id, region)


def _seed_organization() -> None:
    from moto.organizations import utils as org_utils
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[MANAGEMENT_ACCOUNT]["aws"]
    backend.create_organization(region="us-east-1", FeatureSet="ALL")
    assert backend.org is not None  # create_organization sets it
    backend.org.master_account_email = ACCOUNT_EMAILS[MANAGEMENT_ACCOUNT]
    for account in backend.accounts:
        if account.id == MANAGEMENT_ACCOUNT:
            account.name = "management"
            account.email = ACCOUNT_EMAILS[MANAGEMENT_ACCOUNT]
    for name, account_id in ACCOUNTS.items():
        if account_id == MANAGEMENT_ACCOUNT:
            continue
        # moto draws account ids at random; the world needs the fixed ones.
        with mock.patch.object(org_utils, "make_random_account_id", return_value=account_id):
            backend.create_account(AccountName=name, Email=ACCOUNT_EMAILS[account_id])


def _seed_logging_destinations(account_id: str, region: str) -> None:
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends

    logs_backends[account_id][region].create_log_group(LOG_GROUP, tags={})
    s3_backends[account_id]["aws"].create_bucket(bucket_name(account_id, region), region)


def document_contents(account_id: str, region: str) -> dict[str, dict[str, object]]:
    """The seeded Session documents of one account and region, by name."""
    documents = {SHELL_DOCUMENT: _shell_document(account_id, region)}
    for name, (session_type, parameters) in _SESSION_DOCUMENTS.items():
        if name in AWS_COMMAND_DOCUMENTS:
            documents[name] = AWS_COMMAND_DOCUMENTS[name]  # as published: no separateOutputStream
            continue
        documents[name] = {
            "schemaVersion": "1.0",
            "description": f"{name} (as AWS ships it, reduced)",
            "sessionType": session_type,
            "parameters": parameters,
            "properties": {},
        }
    return documents


def _seed_documents(account_id: str, region: str) -> None:
    from moto.ssm.models import ssm_backends

    ssm = ssm_backends[account_id][region]
    for name, content in document_contents(account_id, region).items():
        ssm.create_document(
            content=json.dumps(content),
            requires=[],
            attachments=[],
            name=name,
            version_name="",
            document_type="Session",
            document_format="JSON",
            target_type="",
            tags=[],
        )
