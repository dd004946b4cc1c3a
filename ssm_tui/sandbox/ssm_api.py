"""The Session Manager operations moto lacks, added onto moto's SSM response class.

moto dispatches `X-Amz-Target: AmazonSSM.StartSession` to a `start_session` method looked up on
the response class at call time, so setting methods on `SimpleSystemManagerResponse` is enough;
moto still resolves the account from the access key and the region from the signature, and keeps
every SSM operation it already has. State lives in the `World` (instances) and the shared
`SessionRegistry` (sessions), both installed once by `install()`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ssm_tui.sandbox import kms
from ssm_tui.sandbox.identity import Caller, resolve_caller
from ssm_tui.sandbox.seed import SHELL_DOCUMENT, document_contents, document_parameters
from ssm_tui.sandbox.sessions import (
    InstanceView,
    LoggingPrefs,
    SandboxSession,
    SessionRegistry,
)
from ssm_tui.sandbox.world import DENIED_ROLE_NAME, DENIED_TAG, LATEST_AGENT, Instance, World


@dataclass(slots=True)
class _State:
    world: World
    registry: SessionRegistry
    stream_base: str
    """ws://HOST:PORT of this sandbox (StreamUrl is built from it)."""
    hosts_dir: Path


_STATE: _State | None = None


# X-Amz-Target operation name -> implementation (called with moto's response or a `Call`).
OPERATIONS: dict[str, Callable[[Any], tuple[str, dict[str, str]]]] = {}


def install(world: World, registry: SessionRegistry, stream_base: str, hosts_dir: Path) -> None:
    """Give the operations their state (the front router can answer them from now on)."""
    global _STATE
    _STATE = _State(world, registry, stream_base, hosts_dir)


def install_into_moto() -> None:
    """Attach the operations to moto's SSM responses too (idempotent).

    Imports moto's SSM (and with it all of EC2, ~1.5 s), so the server runs it in the
    background after announcing itself.
    """
    from moto.ssm.responses import SimpleSystemManagerResponse as ssm_response

    if not hasattr(ssm_response, "_ssm_tui_list_tags"):
        # moto's own handlers kept under names of ours, attributes moto's class does not declare
        patched: Any = ssm_response
        patched._ssm_tui_list_tags = ssm_response.list_tags_for_resource
        patched._ssm_tui_add_tags = ssm_response.add_tags_to_resource
        patched._ssm_tui_remove_tags = ssm_response.remove_tags_from_resource
    for operation, function in OPERATIONS.items():
        setattr(ssm_response, _snake(operation), _for_moto(function))


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")


def _for_moto(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        try:
            return function(self)
        except ApiError as error:
            from moto.core.exceptions import JsonRESTError

            raise JsonRESTError(error.code, error.message) from None

    method.__name__ = function.__name__
    return method


class ApiError(Exception):
    """An SSM error in awsJson shape (HTTP 400): `{"__type": code, "message": message}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(slots=True)
class Call:
    """One SSM request decoded by the front router: what the operations read of moto's response.

    The front router answers the Session Manager operations itself (a few ms instead of moto's
    per-request dispatch cost); this object offers the same few members as moto's response.
    """

    params: dict[str, Any]
    current_account: str
    region: str
    access_key: str

    def _get_param(self, name: str, if_none: Any = None) -> Any:
        return self.params.get(name, if_none)

    def get_access_key(self) -> str:
        return self.access_key

    @property
    def ssm_backend(self) -> Any:
        from moto.ssm.models import ssm_backends

        return ssm_backends[self.current_account][self.region]


MOTO_SEEDED = threading.Event()
"""Set once moto's SSM is imported, patched and seeded (the server does it after the ready line)."""


def fast_path(operation: str, params: dict[str, Any]) -> bool:
    """Whether the front router may answer this operation without moto."""
    if operation not in OPERATIONS:
        return False
    if operation.endswith(("TagsForResource", "TagsToResource", "TagsFromResource")):
        return params.get("ResourceType") == "ManagedInstance"
    return True


def handle(operation: str, call: Call) -> tuple[int, str]:
    """Run one operation for the front router: (HTTP status, JSON body)."""
    try:
        body, _ = OPERATIONS[operation](call)
    except ApiError as error:
        return 400, json.dumps({"__type": error.code, "message": error.message})
    return 200, body


def _state() -> _State:
    if _STATE is None:  # pragma: no cover - install() runs before the server starts
        raise RuntimeError("ssm_api.install() was not called")
    return _STATE


def _error(code: str, message: str) -> ApiError:
    return ApiError(code, message)


_JSON_HEADERS = {"content-type": "application/x-amz-json-1.1"}


def _dumps(payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Body and headers as moto passes them through (awsJson 1.1 content type)."""
    return json.dumps(payload, default=_json_default), dict(_JSON_HEADERS)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()  # awsJson1.1 timestamps are epoch seconds
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _caller(response: Any) -> Caller:
    """The caller; moto accepts unknown keys (default account) and so do we, as user `moto`."""
    caller = resolve_caller(response.get_access_key())
    if caller is None:
        account = response.current_account
        return Caller(account, f"arn:aws:iam::{account}:user/moto", "moto")
    return caller


# -- pagination ------------------------------------------------------------------------------


def _page(
    items: list[Any], response: Any, default: int, low: int, high: int, what: str
) -> tuple[list[Any], str | None]:
    max_results = response._get_param("MaxResults")
    if max_results is None:
        size = default
    else:
        size = int(max_results)
        if size < low or size > high:
            raise _error(
                "ValidationException",
                f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                f"constraint: Member must have value {'less' if size > high else 'greater'} than "
                f"or equal to {high if size > high else low}",
            )
    offset = _decode_token(response._get_param("NextToken"), what)
    chunk = items[offset : offset + size]
    following = offset + size
    return chunk, (_encode_token(following, what) if following < len(items) else None)


def _encode_token(offset: int, what: str) -> str:
    raw = json.dumps({"o": offset, "k": what}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str | None, what: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["k"] != what or int(data["o"]) < 0:
            raise ValueError(token)
        return int(data["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _error("InvalidNextToken", "The specified token isn't valid.") from None


# -- DescribeInstanceInformation -------------------------------------------------------------

_INFO_FILTER_KEYS = {
    "InstanceIds",
    "AgentVersion",
    "PingStatus",
    "PlatformTypes",
    "ActivationIds",
    "IamRole",
    "ResourceType",
    "AssociationStatus",
}


def _info_value(instance: Instance, key: str) -> Iterable[str]:
    if key == "InstanceIds":
        return (instance.instance_id,)
    if key == "AgentVersion":
        return (instance.agent_version or "",)
    if key == "PingStatus":
        return (instance.ping_status or "",)
    if key == "PlatformTypes":
        return (instance.platform_type,)
    if key == "ActivationIds":
        return (instance.activation_id or "",)
    if key == "IamRole":
        return (instance.iam_role or "",)
    if key == "ResourceType":
        return (instance.resource_type,)
    if key == "AssociationStatus":
        return ("Success",)
    return ()


def _instance_matches(instance: Instance, key: str, values: list[str]) -> bool:
    if key.startswith("tag:"):
        return instance.tags.get(key[4:]) in values
    if key == "tag-key":
        return any(value in instance.tags for value in values)
    return any(value in values for value in _info_value(instance, key))


_FILTER_VALUES_MAX = 100
"""Most values in one filter (the limit of both `Filters` and `InstanceInformationFilterList`)."""
_RESOURCE_TYPES = ("EC2Instance", "ManagedInstance")


def _instance_filters(response: Any) -> list[tuple[str, list[str]]]:
    filters: list[tuple[str, list[str]]] = []
    for item in response._get_param("InstanceInformationFilterList") or []:
        key = item.get("key")
        if key not in _INFO_FILTER_KEYS:
            raise _error("InvalidFilterKey", f"The filter key {key} is not valid.")
        values = item.get("valueSet") or []
        if not values:
            raise _error(
                "InvalidInstanceInformationFilterValue",
                f"The filter value list for {key} cannot be empty.",
            )
        filters.append((key, list(values)))
    for item in response._get_param("Filters") or []:
        key = item.get("Key", "")
        if key not in _INFO_FILTER_KEYS and not key.startswith("tag:") and key != "tag-key":
            raise _error("InvalidFilterKey", f"The filter key {key} is not valid.")
        filters.append((key, list(item.get("Values") or [])))
    for key, values in filters:
        if len(values) > _FILTER_VALUES_MAX:
            raise _error(
                "ValidationException",
                f"1 validation error detected: Value at 'filters.{key}.values' failed to satisfy "
                f"constraint: Member must have length less than or equal to {_FILTER_VALUES_MAX}",
            )
        if key == "ResourceType" and len(values) > 1:
            # As AWS answers (boto/boto3#3027): one type per call.
            raise _error(
                "InvalidInstanceInformationFilterValue",
                "ResourceType filter may contain only one value.",
            )
        if key == "ResourceType" and values and values[0] not in _RESOURCE_TYPES:
            raise _error(
                "InvalidInstanceInformationFilterValue",
                "ResourceType filter is invalid, valid values are EC2Instance, ManagedInstance",
            )
    return filters


def instance_information(instance: Instance) -> dict[str, Any]:
    info: dict[str, Any] = {
        "InstanceId": instance.instance_id,
        "PingStatus": instance.ping_status,
        "LastPingDateTime": instance.last_ping,
        "AgentVersion": instance.agent_version,
        "IsLatestVersion": instance.agent_version == LATEST_AGENT,
        "PlatformType": instance.platform_type,
        "PlatformName": instance.platform_name,
        "PlatformVersion": instance.platform_version,
        "ResourceType": instance.resource_type,
        "IPAddress": instance.ip_address,
        "ComputerName": instance.computer_name,
        "AssociationStatus": "Success",
        "SourceId": instance.instance_id,
        "SourceType": "AWS::EC2::Instance" if instance.is_ec2 else "AWS::SSM::ManagedInstance",
    }
    if not instance.is_ec2:
        info["ActivationId"] = instance.activation_id
        info["IamRole"] = instance.iam_role
        info["RegistrationDate"] = instance.registration_date
        info["Name"] = instance.name
    return info


def _describe_instance_information(self: Any) -> tuple[str, dict[str, str]]:
    """Managed nodes of the caller's account and region, filtered and paged.

    An `InstanceIds` filter answers with the managed nodes among the ids and silently leaves out
    the others (unmanaged, unknown, other accounts' ids), as AWS does with the `Filters` form:
    tools pass arbitrary EC2 ids in blocks of 50 and read "absent" as "not managed" (Cloud
    Custodian's `ssm` filter). The ids go into a set first, so a 50-id call over a big fleet
    costs one set look-up per node instead of 50 comparisons.
    """
    state = _state()
    filters = _instance_filters(self)
    instances = state.world.managed(self.current_account, self.region)
    for key, values in filters:
        if key == "InstanceIds":
            wanted = set(values)
            instances = [instance for instance in instances if instance.instance_id in wanted]
    if filters:
        instances = [
            instance
            for instance in instances
            if all(_instance_matches(instance, key, values) for key, values in filters)
        ]
    chunk, token = _page(instances, self, 50, 5, 50, "dii")
    payload: dict[str, Any] = {"InstanceInformationList": [instance_information(i) for i in chunk]}
    if token:
        payload["NextToken"] = token
    return _dumps(payload)


# -- sessions ---------------------------------------------------------------------------------


def _resource_arn(instance_id: str, account: str, region: str) -> str:
    if instance_id.startswith("mi-"):
        return f"arn:aws:ssm:{region}:{account}:managed-instance/{instance_id}"
    return f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"


def _document(self: Any, name: str) -> dict[str, Any]:
    if isinstance(self, Call) and not MOTO_SEEDED.is_set():
        # moto's SSM is still loading; every call that could change a document waits for it,
        # so until then the documents are exactly the seeded ones.
        content = document_contents(self.current_account, self.region).get(name)
        if content is None:
            raise _error("InvalidDocument", f"Document with name {name} does not exist.")
        return dict(content)
    documents = self.ssm_backend._documents.get(name)
    if documents is None:
        raise _error("InvalidDocument", f"Document with name {name} does not exist.")
    document = documents.get_default_version()
    if document.document_type != "Session":
        raise _error("InvalidDocument", f"Document {name} is not of type Session.")
    try:
        return json.loads(document.content)
    except ValueError:
        return {}


def _logging_prefs(self: Any, content: dict[str, Any]) -> LoggingPrefs | None:
    """Regional preferences from the shell document; port sessions are never logged (as AWS)."""
    if content.get("sessionType") == "Port":
        return None
    if content.get("sessionType") == "Standard_Stream":
        inputs = content.get("inputs") or {}
    else:
        inputs = (_document(self, SHELL_DOCUMENT).get("inputs") or {}) if _has_shell(self) else {}
    group = inputs.get("cloudWatchLogGroupName") or None
    bucket = inputs.get("s3BucketName") or None
    if group is None and bucket is None:
        return None
    streaming = inputs.get("cloudWatchStreamingEnabled") in (True, "true")
    return LoggingPrefs(
        log_group=group,
        s3_bucket=bucket,
        s3_prefix=inputs.get("s3KeyPrefix") or "",
        # the agent's single-command plugin (InteractiveCommands and NonInteractiveCommands)
        # turns streaming off; the log goes up when the session ends (singlecommand.go)
        cloudwatch_streaming=streaming and content.get("sessionType") == "Standard_Stream",
    )


def _kms_key_id(self: Any) -> str:
    """The Session Manager preferences' kmsKeyId (the agent encrypts with it: `sandbox/kms.py`)."""
    if isinstance(self, Call) and not MOTO_SEEDED.is_set():
        return kms.planned_key(self.current_account, self.region)
    inputs = (_document(self, SHELL_DOCUMENT).get("inputs") or {}) if _has_shell(self) else {}
    return str(inputs.get("kmsKeyId") or "")


def _run_as_user(self: Any, content: dict[str, Any], caller: Caller) -> str:
    """Who the shell runs as: the preferences' Run As and the caller's tag (`sandbox/run_as.py`)."""
    from ssm_tui.sandbox.run_as import run_as_user

    if isinstance(self, Call) and not MOTO_SEEDED.is_set():
        shell: dict[str, Any] = dict(
            document_contents(self.current_account, self.region).get(SHELL_DOCUMENT) or {}
        )
    else:
        shell = _document(self, SHELL_DOCUMENT) if _has_shell(self) else {}
    return run_as_user(content, shell.get("inputs") or {}, caller)


def _has_shell(self: Any) -> bool:
    if isinstance(self, Call) and not MOTO_SEEDED.is_set():
        return True
    return SHELL_DOCUMENT in self.ssm_backend._documents


def _instance_view(instance: Instance, hosts_dir: Path) -> InstanceView:
    home = hosts_dir / instance.instance_id
    try:
        home.mkdir(parents=True, exist_ok=True)
        readme = home / "README.txt"
        if not readme.exists():
            readme.write_text(
                f"This is {instance.name} ({instance.instance_id}), a sandbox stand-in for a "
                f"{instance.platform_name} machine in {instance.account_id}/{instance.region}.\n",
                encoding="utf-8",
            )
    except OSError:
        pass
    return InstanceView(
        instance_id=instance.instance_id,
        name=instance.name,
        computer_name=instance.computer_name,
        platform_type=instance.platform_type,
        home=str(home),
    )


def _stream_url(state: _State, session_id: str) -> str:
    """The StreamUrl as AWS issues it: an opaque `cell-number`, new on every Start/ResumeSession
    (the data channel routes on the path only, so a client keeping the old URL still works)."""
    cell = base64.urlsafe_b64encode(secrets.token_bytes(12)).decode().rstrip("=")
    return (
        f"{state.stream_base}/v1/data-channel/{session_id}"
        f"?role=publish_subscribe&cell-number={cell}"
    )


def _start_session(self: Any) -> tuple[str, dict[str, str]]:
    state = _state()
    caller = _caller(self)
    account, region = self.current_account, self.region
    target = self._get_param("Target")
    document_name = self._get_param("DocumentName") or SHELL_DOCUMENT
    given = self._get_param("Parameters") or {}
    reason = self._get_param("Reason")
    instance = state.world.find(account, region, target)
    if (
        instance is not None
        and caller.role_name == DENIED_ROLE_NAME
        and instance.tags.get(DENIED_TAG[0]) == DENIED_TAG[1]
    ):
        raise _error(
            "AccessDeniedException",
            f"User: {caller.arn} is not authorized to perform: ssm:StartSession on resource: "
            f"{_resource_arn(target, account, region)} because no identity-based policy allows "
            "the ssm:StartSession action",
        )
    content = _document(self, document_name)
    if instance is None or instance.ping_status != "Online":
        raise _error("TargetNotConnected", f"{target} is not connected.")
    parameters: dict[str, list[str]] = {}
    for name, spec in document_parameters(document_name).items():
        if "default" in spec:
            parameters[name] = [str(spec["default"])]
    for name, values in given.items():
        parameters[name] = [str(value) for value in values]
    session = SandboxSession(
        session_id=f"{caller.name}-{secrets.token_hex(9)[:17]}",
        token=secrets.token_urlsafe(48),
        account_id=account,
        region=region,
        target=target,
        document_name=document_name,
        parameters=parameters,
        owner=caller.arn,
        reason=reason,
        instance=_instance_view(instance, state.hosts_dir),
        logging=_logging_prefs(self, content),
        kms_key_id=_kms_key_id(self),
        document_content=content if isinstance(content, dict) else None,
        run_as_user=_run_as_user(self, content, caller),
    )
    state.registry.add(session)
    return _dumps(
        {
            "SessionId": session.session_id,
            "TokenValue": session.token,
            "StreamUrl": _stream_url(state, session.session_id),
        }
    )


def _own_session(state: _State, self: Any, session_id: str) -> SandboxSession | None:
    session = state.registry.get(session_id) if session_id else None
    if session is None or (session.account_id, session.region) != (
        self.current_account,
        self.region,
    ):
        return None
    return session


def _resume_session(self: Any) -> tuple[str, dict[str, str]]:
    state = _state()
    session_id = self._get_param("SessionId")
    session = _own_session(state, self, session_id)
    if session is None:
        raise _error("DoesNotExistException", f"Session {session_id} does not exist.")
    # A new token and a new StreamUrl; the old token stops working at once (registry.resume).
    payload: dict[str, Any] = {
        "SessionId": session_id,
        "StreamUrl": _stream_url(state, session_id),
    }
    token = state.registry.resume(session_id)
    if token is not None:  # an ended session gets no token: the plugin then reports "timed out"
        payload["TokenValue"] = token
    return _dumps(payload)


def _terminate_session(self: Any) -> tuple[str, dict[str, str]]:
    state = _state()
    session_id = self._get_param("SessionId")
    if _own_session(state, self, session_id) is not None:
        state.registry.terminate(session_id)
    return _dumps({"SessionId": session_id})


_SESSION_FILTER_KEYS = {
    "InvokedAfter",
    "InvokedBefore",
    "Target",
    "Owner",
    "Status",
    "SessionId",
    "AccessType",
}


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _error(
            "InvalidFilterValue", f"The filter value {value} is not a valid date."
        ) from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _session_matches(session: SandboxSession, key: str, value: str) -> bool:
    if key == "Target":
        return session.target == value
    if key == "Owner":
        return session.owner == value
    if key == "Status":
        return session.status == value
    if key == "SessionId":
        return session.session_id == value
    if key == "AccessType":
        return value == "Standard"
    if key == "InvokedAfter":
        return session.start_date >= _parse_time(value)
    return session.start_date <= _parse_time(value)  # InvokedBefore


def _session_record(session: SandboxSession) -> dict[str, Any]:
    record: dict[str, Any] = {
        "SessionId": session.session_id,
        "Target": session.target,
        "Status": session.status,
        "StartDate": session.start_date,
        "DocumentName": session.document_name,
        "Owner": session.owner,
        "AccessType": "Standard",
    }
    if session.reason:
        record["Reason"] = session.reason
    if session.end_date is not None:
        record["EndDate"] = session.end_date
    if session.output_url:
        record["OutputUrl"] = dict(session.output_url)
    return record


def _describe_sessions(self: Any) -> tuple[str, dict[str, str]]:
    state = _state()
    wanted = self._get_param("State")
    if wanted not in ("Active", "History"):
        raise _error(
            "ValidationException",
            f"1 validation error detected: Value '{wanted}' at 'state' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Active, History]",
        )
    filters: list[tuple[str, str]] = []
    for item in self._get_param("Filters") or []:
        key = item.get("key")
        if key not in _SESSION_FILTER_KEYS:
            raise _error("InvalidFilterKey", f"The filter key {key} is not valid.")
        filters.append((key, item.get("value", "")))
    scope = (self.current_account, self.region)
    sessions = [
        session
        for session in state.registry.all()
        if (session.account_id, session.region) == scope
        and session.active == (wanted == "Active")
        and all(_session_matches(session, key, value) for key, value in filters)
    ]
    sessions.sort(key=lambda session: session.start_date, reverse=True)
    chunk, token = _page(sessions, self, 20, 1, 200, f"ds-{wanted}")
    payload: dict[str, Any] = {"Sessions": [_session_record(s) for s in chunk]}
    if token:
        payload["NextToken"] = token
    return _dumps(payload)


def _get_connection_status(self: Any) -> tuple[str, dict[str, str]]:
    target = self._get_param("Target")
    instance = _state().world.find(self.current_account, self.region, target)
    online = instance is not None and instance.ping_status == "Online"
    return _dumps({"Target": target, "Status": "connected" if online else "notconnected"})


# -- GetInventory (AWS:InstanceInformation) ----------------------------------------------------

_INVENTORY_TYPE = "AWS:InstanceInformation"


def _inventory_status(instance: Instance) -> str:
    if instance.ping_status == "Online":
        return "Active"
    if instance.ping_status == "Inactive":
        return "Terminated"
    if instance.is_ec2 and instance.ec2_state == "stopped":
        return "Stopped"
    return "ConnectionLost"


def _inventory_content(instance: Instance) -> dict[str, str]:
    return {
        "AgentType": "amazon-ssm-agent",
        "AgentVersion": instance.agent_version or "",
        "ComputerName": instance.computer_name,
        "InstanceId": instance.instance_id,
        "InstanceStatus": _inventory_status(instance),
        "IpAddress": instance.ip_address,
        "PlatformName": instance.platform_name,
        "PlatformType": instance.platform_type,
        "PlatformVersion": instance.platform_version,
        "ResourceType": instance.resource_type,
    }


def _inventory_match(content: dict[str, str], attribute: str, op: str, values: list[str]) -> bool:
    actual = content.get(attribute)
    if op == "Exists":
        return actual is not None
    if actual is None:
        return False
    if op == "Equal":
        return actual in values
    if op == "NotEqual":
        return actual not in values
    if op == "BeginWith":
        return any(actual.startswith(value) for value in values)
    if op == "LessThan":
        return any(actual < value for value in values)
    return any(actual > value for value in values)  # GreaterThan


def _get_inventory(self: Any) -> tuple[str, dict[str, str]]:
    state = _state()
    for attribute in self._get_param("ResultAttributes") or []:
        if attribute.get("TypeName") != _INVENTORY_TYPE:
            raise _error(
                "InvalidResultAttributeException",
                f"The inventory type {attribute.get('TypeName')} is not supported here.",
            )
    if self._get_param("Aggregators"):
        raise _error("InvalidAggregatorException", "Aggregators are not supported here.")
    filters: list[tuple[str, str, list[str]]] = []
    for item in self._get_param("Filters") or []:
        key = item.get("Key", "")
        type_name, _, attribute = key.rpartition(".")
        if type_name != _INVENTORY_TYPE or not attribute:
            raise _error("InvalidFilter", f"The filter key {key} is not valid.")
        op = item.get("Type") or "Equal"
        filters.append((attribute, op, list(item.get("Values") or [])))
    now = datetime.now().astimezone()
    entities: list[dict[str, Any]] = []
    for instance in state.world.managed(self.current_account, self.region):
        content = _inventory_content(instance)
        if all(_inventory_match(content, attr, op, values) for attr, op, values in filters):
            entities.append(
                {
                    "Id": instance.instance_id,
                    "Data": {
                        _INVENTORY_TYPE: {
                            "TypeName": _INVENTORY_TYPE,
                            "SchemaVersion": "1.0",
                            "CaptureTime": (instance.last_ping or now).strftime(
                                "%Y-%m-%dT%H:%M:%SZ"
                            ),
                            "Content": [content],
                        }
                    },
                }
            )
    chunk, token = _page(entities, self, 50, 1, 50, "inv")
    payload: dict[str, Any] = {"Entities": chunk}
    if token:
        payload["NextToken"] = token
    return _dumps(payload)


# -- tags of managed instances -----------------------------------------------------------------


def _managed_target(self: Any) -> Instance | None:
    """The instance for ResourceType ManagedInstance (mi- or EC2 ids), else None (moto's turn)."""
    if self._get_param("ResourceType") != "ManagedInstance":
        return None
    resource_id = self._get_param("ResourceId") or ""
    instance = _state().world.find(self.current_account, self.region, resource_id)
    if instance is None or not instance.managed:
        raise _error("InvalidResourceId", "The resource ID is not valid. Verify the ID and retry.")
    return instance


def _list_tags_for_resource(self: Any) -> Any:
    instance = _managed_target(self)
    if instance is None:
        return self._ssm_tui_list_tags()
    return _dumps({"TagList": [{"Key": k, "Value": v} for k, v in instance.tags.items()]})


def _add_tags_to_resource(self: Any) -> Any:
    instance = _managed_target(self)
    if instance is None:
        return self._ssm_tui_add_tags()
    for tag in self._get_param("Tags") or []:
        instance.tags[tag["Key"]] = tag.get("Value", "")
    return "{}", dict(_JSON_HEADERS)


def _remove_tags_from_resource(self: Any) -> Any:
    instance = _managed_target(self)
    if instance is None:
        return self._ssm_tui_remove_tags()
    for key in self._get_param("TagKeys") or []:
        instance.tags.pop(key, None)
    return "{}", dict(_JSON_HEADERS)


OPERATIONS.update(
    {
        "DescribeInstanceInformation": _describe_instance_information,
        "StartSession": _start_session,
        "ResumeSession": _resume_session,
        "TerminateSession": _terminate_session,
        "DescribeSessions": _describe_sessions,
        "GetConnectionStatus": _get_connection_status,
        "GetInventory": _get_inventory,
        "ListTagsForResource": _list_tags_for_resource,
        "AddTagsToResource": _add_tags_to_resource,
        "RemoveTagsFromResource": _remove_tags_from_resource,
    }
)
