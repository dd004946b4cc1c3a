"""`ssm-tui login PROFILE`: log an IAM Identity Center profile in, as `aws sso login` does.

The device authorization flow of `aws/sso_login.py`, so it works without the aws-cli v2: the URL
and code are printed in the aws-cli's own words (scripts and habits that read them keep working),
the browser opens on the URL unless `--no-browser`, and the token lands in `~/.aws/sso/cache`
where botocore, boto3 and the aws-cli read it. Every profile of the same sso-session is logged in
with it. Exit status: 0 logged in, 1 the login failed, expired or was denied (the reason on
stderr), 2 bad usage (unknown profile, not an SSO profile), 130 interrupted (nothing written).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

_CONTROL = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument("profile", metavar="PROFILE", help="an SSO profile of the AWS config")
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="only print the URL and code (default: also open the URL in the browser)",
    )


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws.exceptions import SsmTuiError
    from ssm_tui.aws.sso_login import login_target

    try:
        target = login_target(args.profile)
    except SsmTuiError as exc:
        _error(exc.message, exc.hint)
        return 2
    try:
        result = asyncio.run(_login(args, target.profile))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except SsmTuiError as exc:
        _error(exc.message, exc.hint)
        return 1
    except Exception as exc:  # noqa: BLE001 - an AWS or network failure: one readable line
        from ssm_tui.aws.errors import explain

        problem = explain(exc, args.profile, target.region)
        _error(problem.message, problem.hint)
        return 1
    print(f"Successfully logged into Start URL: {_clean(result.target.start_url)}", flush=True)
    others = [p for p in result.target.profiles if p != result.target.profile]
    if others:
        print(f"Also logged in: {', '.join(others)}", flush=True)
    return 0


async def _login(args: argparse.Namespace, profile: str) -> Any:
    from ssm_tui.aws.sso_login import sso_login

    return await sso_login(profile, lambda code: _show(code, open_browser=not args.no_browser))


def _show(code: Any, *, open_browser: bool) -> None:
    """The aws-cli v2's messages (`OpenBrowserHandler` / `PrintOnlyHandler`), to stdout."""
    uri, complete, user_code = map(
        _clean, (code.verification_uri, code.verification_uri_complete, code.user_code)
    )
    if open_browser:
        print(
            "Attempting to automatically open the SSO authorization page in your default "
            "browser.\nIf the browser does not open or you wish to use a different device to "
            f"authorize this request, open the following URL:\n\n{uri}\n",
            flush=True,
        )
        if user_code:
            print(f"Then enter the code:\n\n{user_code}\n", flush=True)
        try:
            import webbrowser

            webbrowser.open_new_tab(complete)
        except Exception:  # noqa: BLE001 - the URL is printed; a browser is a convenience
            pass
        return
    print(f"Browser will not be automatically opened.\nPlease visit the following URL:\n\n{uri}\n")
    if user_code:
        print(
            f"Then enter the code:\n\n{user_code}\n\nAlternatively, you may visit the following "
            f"URL which will autofill the code upon loading:\n{complete}\n",
            flush=True,
        )


def _clean(text: str) -> str:
    """Text from AWS, written to a terminal: without control characters."""
    return str(text).translate(_CONTROL)


def _error(message: str, hint: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr)
