"""AWS error responses in each protocol's own shape, for the faults the front router injects.

A client only recognises a throttling or expired-token error when it arrives as that service
would send it: awsJson (ssm, logs, organizations) as `{"__type": ...}`, EC2 as `<Response><Errors>`,
the query services (sts, iam) as `<ErrorResponse>`, S3 as a bare `<Error>`, and the SSO portal
(restJson) with an `x-amzn-errortype` header.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _request_id() -> str:
    return str(uuid.uuid4())


def protocol_of(service: str, has_target_header: bool) -> str:
    """json | ec2 | query | s3 | rest-json, from the signing service and the request headers."""
    if has_target_header:
        return "json"
    if service == "ec2":
        return "ec2"
    if service == "s3":
        return "s3"
    if service in ("sso", "awsssoportal"):
        return "rest-json"
    return "query"


# (protocol, fault) -> (code, HTTP status)
_CODES: dict[tuple[str, str], tuple[str, int]] = {
    ("json", "throttle"): ("ThrottlingException", 400),
    ("ec2", "throttle"): ("RequestLimitExceeded", 503),
    ("query", "throttle"): ("Throttling", 400),
    ("s3", "throttle"): ("SlowDown", 503),
    ("rest-json", "throttle"): ("TooManyRequestsException", 429),
    ("json", "expired"): ("ExpiredTokenException", 400),
    ("ec2", "expired"): ("ExpiredToken", 400),
    ("query", "expired"): ("ExpiredToken", 403),
    ("s3", "expired"): ("ExpiredToken", 400),
    ("rest-json", "expired"): ("UnauthorizedException", 401),
    ("ec2", "denied"): ("UnauthorizedOperation", 403),
    ("json", "denied"): ("AccessDeniedException", 400),
    ("json", "unknown-key"): ("UnrecognizedClientException", 400),
    ("ec2", "unknown-key"): ("AuthFailure", 401),
    ("query", "unknown-key"): ("InvalidClientTokenId", 403),
    ("s3", "unknown-key"): ("InvalidAccessKeyId", 403),
    ("rest-json", "unknown-key"): ("UnauthorizedException", 401),
}
_MESSAGES = {
    "throttle": "Rate exceeded",
    "expired": "The security token included in the request is expired",
    "unknown-key": "The security token included in the request is invalid.",
    "denied": "You are not authorized to perform this operation.",
}


def fault_reply(protocol: str, fault: str) -> Reply:
    code, status = _CODES[(protocol, fault)]
    return error_reply(protocol, code, _MESSAGES[fault], status)


def error_reply(protocol: str, code: str, message: str, status: int) -> Reply:
    request_id = _request_id()
    rid = [(b"x-amzn-requestid", request_id.encode())]
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return Reply(status, [(b"content-type", b"application/x-amz-json-1.1"), *rid], body)
    if protocol == "rest-json":
        body = json.dumps({"message": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"x-amzn-errortype", code.encode())]
        return Reply(status, headers + rid, body)
    code_x, message_x = escape(code), escape(message)
    if protocol == "ec2":
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code_x}</Code><Message>{message_x}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    elif protocol == "s3":
        text = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{code_x}</Code><Message>{message_x}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
    else:
        text = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code_x}</Code><Message>{message_x}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return Reply(status, [(b"content-type", b"text/xml"), *rid], text.encode())
