"""The errors ssm-tui raises, and `explain`, which turns any AWS failure into one readable row.

Every failure the user can fix gets a message that says what went wrong and a `hint` with the exact
next step (`aws sso login --profile X`), because a stack trace helps nobody at 3 a.m. The UI and the
CLI show `ScopeError`s; services raise the exception classes of `ssm_tui.aws.exceptions` (named
here too, where every caller imports them from).
"""

from __future__ import annotations

from botocore import exceptions as bce

from ssm_tui.aws.exceptions import (
    AccessDenied,
    ConfigError,
    CredentialsError,
    NetworkError,
    SsmTuiError,
    Throttled,
    UnknownProfileError,
)
from ssm_tui.aws.models import ScopeError

__all__ = [
    "DENIED_CODES",
    "EXPIRED_CODES",
    "INVALID_KEY_CODES",
    "THROTTLING_CODES",
    "AccessDenied",
    "ConfigError",
    "CredentialsError",
    "NetworkError",
    "SsmTuiError",
    "Throttled",
    "UnknownProfileError",
    "explain",
    "raise_for",
]


THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "ProvisionedThroughputExceededException",
    }
)
EXPIRED_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
INVALID_KEY_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "InvalidAccessKeyId",
        "UnauthorizedException",
    }
)
DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"}
)


def _login_hint(profile: str | None, kind: str | None) -> str:
    flag = f" --profile {profile}" if profile else ""
    if kind == "sso":
        return f"run: aws sso login{flag}"
    if kind == "process":
        return f"check the credential_process command of profile {profile!r}"
    if kind == "assume-role":
        return f"renew the credentials of the source profile of {profile!r}"
    return f"renew the access keys of profile {profile!r} (aws configure{flag})"


def _profile_kind(profile: str | None) -> str | None:
    """The profile's kind, imported lazily: botocore.session is heavy, and only a hint needs it."""
    if not profile:
        return None
    try:
        from ssm_tui.aws.profiles import get_profile

        return str(get_profile(profile).kind)
    except Exception:  # noqa: BLE001 - a hint is best effort, the error itself matters
        return None


def explain(exc: BaseException, profile: str | None, region: str | None = None) -> ScopeError:
    """Turn any exception from a service call into a `ScopeError` with a next step.

    Why one function: the inventory, the session starter, history and logs all show AWS failures
    the same way, and the hints (which command fixes it) depend on the profile kind, not the caller.
    """
    name = profile or "(default)"
    if isinstance(exc, ExceptionGroup) and exc.exceptions:
        return explain(exc.exceptions[0], profile, region)
    if isinstance(exc, SsmTuiError):
        return ScopeError(name, region, exc.message, exc.hint, exc.code)
    kind = _profile_kind(profile)
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "") or exc)
        op = getattr(exc, "operation_name", "")
        if code in THROTTLING_CODES:
            return ScopeError(
                name,
                region,
                f"throttled by AWS on {op} after retries: {message}",
                "try again in a minute, or lower the number of profiles refreshed at once",
                code,
            )
        if code in EXPIRED_CODES:
            return ScopeError(
                name, region, f"credentials expired: {message}", _login_hint(profile, kind), code
            )
        if code in INVALID_KEY_CODES:
            return ScopeError(
                name,
                region,
                f"credentials rejected: {message}",
                _login_hint(profile, kind),
                code,
            )
        if code in DENIED_CODES:
            return ScopeError(
                name,
                region,
                f"access denied on {op}: {message}",
                f"ask for permission {_service_action(exc)} for the role of profile {name!r}",
                code,
            )
        return ScopeError(name, region, f"{op} failed: {code}: {message}", "", code)
    if isinstance(exc, bce.ProfileNotFound):
        from ssm_tui.aws.profiles import known_profile_names

        err2 = UnknownProfileError(exc.kwargs.get("profile", name), known_profile_names())
        return ScopeError(name, region, err2.message, err2.hint, err2.code)
    if isinstance(exc, bce.UnauthorizedSSOTokenError | bce.SSOTokenLoadError):
        return ScopeError(
            name, region, f"SSO login needed: {exc}", _login_hint(profile, "sso"), "SSOTokenExpired"
        )
    if isinstance(exc, bce.TokenRetrievalError):
        return ScopeError(
            name,
            region,
            f"SSO token expired: {exc}",
            _login_hint(profile, "sso"),
            "SSOTokenExpired",
        )
    if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
        return ScopeError(
            name,
            region,
            f"no credentials found: {exc}",
            f"add keys with: aws configure --profile {name}" if profile else "set a profile",
            "NoCredentials",
        )
    if isinstance(exc, bce.CredentialRetrievalError):
        return ScopeError(
            name, region, str(exc), _retrieval_hint(str(exc), profile, kind), "CredentialsError"
        )
    if isinstance(exc, bce.InfiniteLoopConfigError):
        return ScopeError(
            name,
            region,
            f"the source_profile chain of profile {name!r} loops: {exc}",
            "make one profile of the chain hold credentials (keys, SSO or credential_process) "
            "instead of a source_profile",
            "ConfigError",
        )
    if isinstance(exc, KeyError) and _looks_like_cache_key(exc):
        return ScopeError(
            name,
            region,
            f"the cached SSO login of profile {name!r} cannot be read (file {exc.args[0]}.json)",
            f"log in again to rewrite it: aws sso login --profile {name}",
            "SSOTokenUnreadable",
        )
    if isinstance(exc, bce.NoRegionError):
        return ScopeError(
            name,
            region,
            "no region configured",
            f"set one with: aws configure set region us-east-1 --profile {name}",
            "NoRegion",
        )
    if isinstance(exc, bce.InvalidRegionError):
        return ScopeError(
            name, region, str(exc), "check the region name (e.g. eu-west-1)", "InvalidRegion"
        )
    if isinstance(exc, bce.ConnectTimeoutError | bce.EndpointConnectionError):
        return ScopeError(
            name,
            region,
            f"cannot reach AWS: {exc}",
            "check the network, proxy settings, and that the region exists",
            "NetworkError",
        )
    if isinstance(exc, bce.ReadTimeoutError | TimeoutError):
        return ScopeError(
            name, region, f"AWS did not answer in time: {exc}", "try again", "Timeout"
        )
    if isinstance(exc, bce.ConfigParseError):
        return ScopeError(name, region, str(exc), "fix the AWS config file", "ConfigError")
    if isinstance(exc, bce.BotoCoreError):
        return ScopeError(name, region, str(exc), "", type(exc).__name__)
    if isinstance(exc, OSError):
        return ScopeError(name, region, f"{type(exc).__name__}: {exc}", "", type(exc).__name__)
    return ScopeError(name, region, f"unexpected error: {type(exc).__name__}: {exc}", "", "")


def _retrieval_hint(message: str, profile: str | None, kind: str | None) -> str:
    """The next step for a failed credential_process (see `aws.credentials`), else the login."""
    where = f"the credential_process of profile {profile!r}"
    if "did not finish within" in message:
        return f"{where} hangs or waits for input: run it in a shell to see what it waits for"
    if "program not found" in message or "not executable" in message:
        return f"install the program, or fix the path in {where}"
    if "printed no JSON" in message or "lacks" in message or "answered Version" in message:
        return (
            f'{where} must print {{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …}} '
            "on stdout (anything else to stderr)"
        )
    return _login_hint(profile, kind)


def _looks_like_cache_key(exc: KeyError) -> bool:
    """botocore's SSO token cache raises KeyError(<sha1 of the start URL>) for a file it cannot
    parse: 40 hex digits."""
    key = exc.args[0] if exc.args else ""
    return isinstance(key, str) and len(key) == 40 and all(c in "0123456789abcdef" for c in key)


def _service_action(exc: bce.ClientError) -> str:
    """`ssm:DescribeInstanceInformation` from a ClientError (best effort, for the hint)."""
    op = getattr(exc, "operation_name", "") or "?"
    service = ""
    model = getattr(exc, "service_model", None)
    if model is not None:
        service = getattr(model, "signing_name", "") or ""
    return f"{service}:{op}" if service else op


def raise_for(exc: BaseException, profile: str | None) -> SsmTuiError:
    """An `SsmTuiError` subclass for `exc`, for callers that raise rather than render."""
    if isinstance(exc, SsmTuiError):
        return exc
    err = explain(exc, profile)
    if err.code in THROTTLING_CODES:
        out: SsmTuiError = Throttled(err.message, err.hint)
    elif err.code in DENIED_CODES:
        out = AccessDenied(err.message, err.hint)
    elif err.code in ("NetworkError", "Timeout"):
        out = NetworkError(err.message, err.hint)
    elif err.code in EXPIRED_CODES | INVALID_KEY_CODES or err.code in (
        "SSOTokenExpired",
        "NoCredentials",
        "CredentialsError",
    ):
        out = CredentialsError(profile, err.message, err.hint, err.code)
    else:
        out = SsmTuiError(err.message, err.hint)
        out.code = err.code
    return out
