"""CloudTrail's event history for the Session Manager calls: LookupEvents, which moto lacks.

moto has a CloudTrail backend but records nothing of the calls it serves, so an auditor's
"who started a session on prod last night" had nothing to read. The front router records every
successful StartSession, ResumeSession and TerminateSession here (per account and region, as
CloudTrail's event history is) and answers `CloudTrail_20131101.LookupEvents` from it.

Shapes follow botocore's model (cloudtrail 2013-11-01) and the event JSON CloudTrail stores for
ssm.amazonaws.com: `userIdentity` (type, arn, accountId, principalId, sessionContext for roles),
`requestParameters` (`target`, `reason`, `documentName` for StartSession; `sessionId` else) and
`responseElements` (`sessionId`; the token as "Value hidden due to security reasons."). Rules
kept as AWS keeps them: at most one lookup attribute, MaxResults 1..50 (default 50), StartTime
after EndTime is an error, newest first, 90 days of history.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
RECORDED = frozenset({"StartSession", "ResumeSession", "TerminateSession"})
HIDDEN = "Value hidden due to security reasons."
RETENTION = timedelta(days=90)
ATTRIBUTE_KEYS = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)


@dataclass(frozen=True, slots=True)
class TrailEvent:
    """One recorded call: the LookupEvents summary fields plus the stored event JSON."""

    account_id: str
    region: str
    event_id: str
    event_name: str
    event_time: datetime
    username: str
    access_key_id: str
    resources: tuple[tuple[str, str], ...]
    """(ResourceType, ResourceName) pairs."""
    document: dict[str, Any]

    def attribute(self, key: str) -> tuple[str, ...]:
        if key == "EventId":
            return (self.event_id,)
        if key == "EventName":
            return (self.event_name,)
        if key == "ReadOnly":
            return ("false",)
        if key == "Username":
            return (self.username,)
        if key == "ResourceType":
            return tuple(kind for kind, _ in self.resources)
        if key == "ResourceName":
            return tuple(name for _, name in self.resources)
        if key == "EventSource":
            return ("ssm.amazonaws.com",)
        return (self.access_key_id,)

    def summary(self) -> dict[str, Any]:
        return {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": "false",
            "AccessKeyId": self.access_key_id,
            "EventTime": self.event_time.timestamp(),
            "EventSource": "ssm.amazonaws.com",
            "Username": self.username,
            "Resources": [
                {"ResourceType": kind, "ResourceName": name} for kind, name in self.resources
            ],
            "CloudTrailEvent": json.dumps(self.document),
        }


class Trail:
    """Every recorded event of every account and region. Thread-safe (moto's pool records too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[TrailEvent] = []

    def add(self, event: TrailEvent) -> None:
        with self._lock:
            self._events.append(event)

    def events(self, account_id: str, region: str) -> list[TrailEvent]:
        with self._lock:
            return [e for e in self._events if (e.account_id, e.region) == (account_id, region)]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


TRAIL = Trail()


class TrailError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _identity(
    account_id: str, arn: str, access_key: str, role_arn: str | None, name: str
) -> dict[str, Any]:
    import uuid  # on first use: uuid costs start-up time every sandbox pays otherwise

    if role_arn:
        role_name = role_arn.rsplit("/", 1)[-1]
        principal = f"AROA{uuid.uuid5(uuid.NAMESPACE_URL, role_arn).hex[:17].upper()}"
        return {
            "type": "AssumedRole",
            "principalId": f"{principal}:{name}",
            "arn": arn,
            "accountId": account_id,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": principal,
                    "arn": role_arn,
                    "accountId": account_id,
                    "userName": role_name,
                },
                "attributes": {"mfaAuthenticated": "false"},
            },
        }
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{uuid.uuid5(uuid.NAMESPACE_URL, arn).hex[:17].upper()}",
        "arn": arn,
        "accountId": account_id,
        "accessKeyId": access_key,
        "userName": name,
    }


def _target_resource(account_id: str, region: str, target: str) -> tuple[str, str, str]:
    """(ResourceType, ResourceName, ARN) of a session target."""
    if target.startswith("mi-"):
        arn = f"arn:aws:ssm:{region}:{account_id}:managed-instance/{target}"
        return "AWS::SSM::ManagedInstance", target, arn
    return "AWS::EC2::Instance", target, f"arn:aws:ec2:{region}:{account_id}:instance/{target}"


def record(
    operation: str,
    params: dict[str, Any],
    response: dict[str, Any],
    *,
    account_id: str,
    region: str,
    caller_arn: str,
    caller_name: str,
    role_arn: str | None,
    access_key: str,
    source_ip: str = "127.0.0.1",
    user_agent: str = "",
    when: datetime | None = None,
    target: str | None = None,
) -> TrailEvent | None:
    """Record one successful Session Manager call, as CloudTrail's event history keeps it.

    `target` names the instance of a Resume/TerminateSession (CloudTrail lists no resource for
    those; we keep none either: the argument is for the seed's StartSession only)."""
    if operation not in RECORDED:
        return None
    import uuid

    when = when or datetime.now(UTC)
    request: dict[str, Any]
    answer: dict[str, Any] = {"sessionId": response.get("SessionId", params.get("SessionId"))}
    resources: tuple[tuple[str, str], ...] = ()
    arns: list[dict[str, str]] = []
    if operation == "StartSession":
        target = str(params.get("Target", target or ""))
        request = {"target": target}
        if params.get("DocumentName"):
            request["documentName"] = params["DocumentName"]
        if params.get("Parameters"):
            request["parameters"] = params["Parameters"]
        if params.get("Reason"):
            request["reason"] = params["Reason"]
        answer["tokenValue"] = HIDDEN
        answer["streamUrl"] = response.get("StreamUrl", "")
        kind, name, arn = _target_resource(account_id, region, target)
        resources = ((kind, name),)
        arns = [{"accountId": account_id, "ARN": arn}]
    else:
        request = {"sessionId": params.get("SessionId", "")}
        if operation == "ResumeSession":
            answer["tokenValue"] = HIDDEN
            answer["streamUrl"] = response.get("StreamUrl", "")
    event_id = str(uuid.uuid4())
    document: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": _identity(account_id, caller_arn, access_key, role_arn, caller_name),
        "eventTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ssm.amazonaws.com",
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": request,
        "responseElements": answer,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    if arns:
        document["resources"] = arns
    event = TrailEvent(
        account_id=account_id,
        region=region,
        event_id=event_id,
        event_name=operation,
        event_time=when,
        username=caller_name,
        access_key_id=access_key,
        resources=resources,
        document=document,
    )
    TRAIL.add(event)
    return event


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError):
        raise TrailError("ValidationException", f"Invalid {name}: {value}") from None


def lookup_events(
    params: dict[str, Any], account_id: str, region: str, now: datetime | None = None
) -> dict[str, Any]:
    """The LookupEvents answer (raises `TrailError` for what AWS refuses)."""
    now = now or datetime.now(UTC)
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise TrailError(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        )
    wanted: tuple[str, str] | None = None
    if attributes:
        key = attributes[0].get("AttributeKey")
        value = attributes[0].get("AttributeValue")
        if key not in ATTRIBUTE_KEYS or not value:
            raise TrailError(
                "InvalidLookupAttributesException",
                f"Lookup attribute {key} is not valid or has no value.",
            )
        wanted = (str(key), str(value))
    if params.get("EventCategory") not in (None, "insight"):
        raise TrailError("InvalidEventCategoryException", "EventCategory must be insight.")
    if params.get("EventCategory") == "insight":
        return {"Events": []}  # no Insights events are ever recorded here
    start = _time(params.get("StartTime"), "StartTime")
    end = _time(params.get("EndTime"), "EndTime")
    if start and end and start > end:
        raise TrailError("InvalidTimeRangeException", "Start time must be before end time.")
    limit = params.get("MaxResults", 50)
    if not isinstance(limit, int) or not 1 <= limit <= 50:
        raise TrailError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    offset = 0
    if params.get("NextToken"):
        try:
            offset = int(base64.urlsafe_b64decode(params["NextToken"].encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise TrailError("InvalidNextTokenException", "Invalid NextToken.") from None
    floor = now - RETENTION
    events = [
        e
        for e in TRAIL.events(account_id, region)
        if e.event_time >= floor
        and (start is None or e.event_time >= start)
        and (end is None or e.event_time <= end)
        and (wanted is None or wanted[1] in e.attribute(wanted[0]))
    ]
    events.sort(key=lambda e: e.event_time, reverse=True)
    chunk = events[offset : offset + limit]
    reply: dict[str, Any] = {"Events": [e.summary() for e in chunk]}
    if offset + limit < len(events):
        reply["NextToken"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
    return reply


def handle(operation: str, body: bytes, account_id: str, region: str) -> tuple[int, str]:
    """One CloudTrail call for the front router: (HTTP status, awsJson body)."""
    if operation != "LookupEvents":
        return 400, json.dumps(
            {
                "__type": "UnsupportedOperationException",
                "message": f"The sandbox's CloudTrail serves LookupEvents only, not {operation}.",
            }
        )
    try:
        params = json.loads(body or b"{}")
        if not isinstance(params, dict):
            raise ValueError
    except ValueError:
        return 400, json.dumps({"__type": "SerializationException", "message": "bad JSON"})
    try:
        return 200, json.dumps(lookup_events(params, account_id, region))
    except TrailError as error:
        return 400, json.dumps({"__type": error.code, "message": error.message})
