"""A month of past sessions for the auditor's views: several people, three accounts, some `sudo`.

Off unless asked for (`ssm-tui sandbox --audit-history [DAYS]` or `POST /_sandbox/audit-history`):
the tests share one sandbox per worker and many of them read history, so the seeded month only
appears where it is wanted. It is small and goes straight into the backends (no HTTP): about 20
sessions per account, each a DescribeSessions History record, a CloudTrail Start/Terminate pair,
a CloudWatch stream and an S3 object, all stamped in the past, in well under a second.

Event times older than 14 days are refused by PutLogEvents (moto and AWS): a real month-old
transcript was put when it was fresh, so the seed writes into the stream behind that check.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from ssm_tui.sandbox import cloudtrail
from ssm_tui.sandbox.seed import LOG_GROUP, S3_PREFIX, bucket_name, logging_prefs
from ssm_tui.sandbox.sessions import InstanceView, SandboxSession, SessionRegistry
from ssm_tui.sandbox.world import ACCOUNTS, MANAGEMENT_ACCOUNT, World

PEOPLE = ("alice", "bob", "carol", "dave", "erin")
OTHER_TOOL = "botocore-session-1764000000"
"""A session some other tool started with no role_session_name (shown as such, with a hint)."""
SESSIONS_PER_ACCOUNT = 20
ROLE = "SSMOperator"

_WORK: tuple[tuple[str, ...], ...] = (
    ("uptime", " 10:02:11 up 41 days,  3:12,  1 user,  load average: 0.08, 0.03, 0.01"),
    ("sudo systemctl restart nginx", "", "systemctl is-active nginx", "active"),
    (
        "df -h /",
        "Filesystem      Size  Used Avail Use% Mounted on",
        "/dev/nvme0n1p1   30G   27G  3.0G  90% /",
    ),
    ("sudo -i", "root@host:~# journalctl -u app --since -1h | tail -3", "Started app.service."),
    (
        "sudo tail -n 2 /var/log/secure",
        "sshd[811]: Accepted publickey for ec2-user",
        "sudo: pam_unix(sudo:session): session opened for user root",
    ),
    ("cat /etc/os-release | head -1", 'NAME="Amazon Linux"'),
    ("sudo yum -y update openssl", "Complete!"),
    ("ls /srv/app/releases", "2026-11-02  2026-11-16  2026-11-30"),
)
_REASONS = ("", "", "INC-4711 disk full", "CHG-1201 nginx config", "", "on-call check")


def _transcript(rng: random.Random, prompt: str) -> tuple[str, ...]:
    lines: list[str] = []
    for _ in range(rng.randint(2, 4)):
        command, *output = rng.choice(_WORK)
        lines.append(f"{prompt}$ {command}")
        lines.extend(line for line in output if line)
    lines.append(f"{prompt}$ exit")
    return tuple(lines)


def _owner(account_id: str, person: str) -> tuple[str, str | None]:
    """(owner ARN, role ARN): the management account's people are IAM users."""
    if account_id == MANAGEMENT_ACCOUNT:
        return f"arn:aws:iam::{account_id}:user/{person}", None
    role = f"arn:aws:iam::{account_id}:role/{ROLE}"
    return f"arn:aws:sts::{account_id}:assumed-role/{ROLE}/{person}", role


_SEEDED = False


def seed_history(
    world: World,
    registry: SessionRegistry,
    days: int = 30,
    per_account: int = SESSIONS_PER_ACCOUNT,
    seed: int = 17,
) -> int:
    """Write the past sessions; returns how many. Idempotent: a second call adds nothing."""
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends

    from ssm_tui.sandbox.context import _MOTO_WRITE_LOCK

    global _SEEDED
    if _SEEDED:
        return 0
    _SEEDED = True
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    made = 0
    for account_id in ACCOUNTS.values():
        fleet = [
            i
            for i in world.instances
            if i.account_id == account_id and i.platform_type == "Linux" and i.ping_status
        ]
        if not fleet:
            continue
        for n in range(per_account):
            instance = rng.choice(fleet)
            person = OTHER_TOOL if n == per_account - 1 else rng.choice(PEOPLE)
            start = now - timedelta(seconds=rng.randint(3600, days * 86400))
            end = start + timedelta(seconds=rng.randint(60, 3600))
            owner, role = _owner(account_id, person)
            session_id = f"{person}-{secrets.token_hex(9)[:17]}"
            reason = rng.choice(_REASONS)
            region = instance.region
            prefs = logging_prefs(account_id, region)
            session = SandboxSession(
                session_id=session_id,
                token="",
                account_id=account_id,
                region=region,
                target=instance.instance_id,
                document_name="SSM-SessionManagerRunShell",
                parameters={},
                owner=owner,
                reason=reason or None,
                instance=InstanceView(
                    instance.instance_id, instance.name, instance.computer_name, "Linux"
                ),
                logging=prefs,
                start_date=start,
                end_date=end,
                status="Terminated",
            )
            lines = _transcript(rng, f"ssm-user@{instance.computer_name}")
            body = "".join(line + "\r\n" for line in lines).encode()
            # one event for the whole (short) transcript, as the agent packs lines at the end
            events = [{"timestamp": int(start.timestamp() * 1000), "message": body.decode()}]
            with _MOTO_WRITE_LOCK:
                group = logs_backends[account_id][region].groups[LOG_GROUP]
                if session_id not in group.streams:
                    logs_backends[account_id][region].create_log_stream(LOG_GROUP, session_id)
                group.put_log_events(session_id, events)
                key = s3_backends[account_id]["aws"].put_object(
                    bucket_name(account_id, region), f"{S3_PREFIX}{session_id}.log", body
                )
                key.last_modified = end.replace(tzinfo=None)  # moto keeps naive UTC
            from ssm_tui.sandbox.transcripts import output_urls

            session.output_url = output_urls(session)
            registry.add(session)
            caller: dict[str, Any] = {
                "account_id": account_id,
                "region": region,
                "caller_arn": owner,
                "caller_name": person,
                "role_arn": role,
                "access_key": "ASIA" + secrets.token_hex(8).upper(),
                "user_agent": "aws-cli/2.22.0",
            }
            params = {"Target": instance.instance_id}
            if reason:
                params["Reason"] = reason
            cloudtrail.record(
                "StartSession",
                params,
                {"SessionId": session_id, "StreamUrl": ""},
                when=start,
                **caller,
            )
            cloudtrail.record(
                "TerminateSession",
                {"SessionId": session_id},
                {"SessionId": session_id},
                when=end,
                **caller,
            )
            made += 1
    return made
