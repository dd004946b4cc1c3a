"""`ssm-tui connect TARGET`: start a session and run it with a plugin in this terminal.

The official `session-manager-plugin` runs the session when it is installed (or `--plugin PATH`),
ours otherwise (`--plugin builtin` forces it). `--command CMD` runs the shell command line CMD
through AWS-StartInteractiveCommand with a framed wrapper, in this process (`remote_command.py`
says why: the agent sends no exit status for the AWS command documents, and runs
NonInteractiveCommands without a shell); stdout to stdout, stderr to stderr, its status as ours.

Like aws-cli, this process ignores Ctrl-C, Ctrl-\\ and Ctrl-Z while the plugin runs (they belong to
the remote session), and it calls TerminateSession when the plugin is gone, whatever ended it, so
no session is left open. The token only travels in the plugin's environment.

Exit status: the plugin's (`--command`: the remote command's), 255 when the session could not be
started or no status came back, 128+N when the plugin was killed by signal N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
from typing import Any

EXIT_FAILURE = 255


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this command's options."""
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="instance id (i-..., mi-...) or Name tag (searched in every profile)",
    )
    parser.add_argument("--profile", help="AWS profile (default: the default chain)")
    parser.add_argument("--region", help="AWS region (default: the profile's)")
    parser.add_argument("--document", help="SSM document, e.g. AWS-StartPortForwardingSession")
    parser.add_argument(
        "--parameters",
        metavar="JSON",
        help='document parameters as JSON, e.g. \'{"portNumber":["80"]}\'',
    )
    parser.add_argument(
        "--command",
        dest="remote_command",  # `command` is the CLI's subcommand name
        metavar="CMD",
        help="run the shell command line CMD on the instance and exit with its status",
    )
    parser.add_argument(
        "--plugin",
        metavar="PATH|builtin",
        help="plugin to run the session (default: session-manager-plugin if installed, else ours)",
    )
    parser.add_argument("--reason", help="reason recorded with the session")


def _parameters(text: str | None) -> dict[str, list[str]]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"--parameters is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("--parameters must be a JSON object of name -> list of strings")
    out: dict[str, list[str]] = {}
    for name, item in value.items():
        items = item if isinstance(item, list) else [item]
        out[str(name)] = [str(v) for v in items]
    return out


def _fail(message: str, hint: str = "") -> int:
    print(f"ssm-tui connect: {message}", file=sys.stderr)
    if hint:
        print(f"  {hint}", file=sys.stderr)
    return EXIT_FAILURE


def run(args: argparse.Namespace) -> int:
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.plugin import launcher

    try:
        parameters = _parameters(args.parameters)
    except ValueError as exc:
        return _fail(str(exc))
    from ssm_tui.commands.audit import connect_preflight

    if (stop := connect_preflight(args)) is not None:  # required reason, Run As (issue 17)
        return stop
    document = args.document
    plugin = args.plugin
    if args.remote_command is not None:
        if document or parameters:
            return _fail("--command cannot be used with --document or --parameters")
        if plugin and plugin != launcher.BUILTIN:
            return _fail(
                "--command runs the session in ssm-tui itself; --plugin does not apply",
                "session-manager-plugin always exits 0 and cannot return the command's status",
            )
        return _run_command(args)
    try:
        program = launcher.resolve_plugin(plugin)  # fail before starting a session
    except launcher.PluginNotFound as exc:
        return _fail(str(exc), "give a path to session-manager-plugin, or --plugin builtin")
    try:
        _find(args)
        started = asyncio.run(
            _start(args.profile, args.region, args.target, document, parameters, args.reason)
        )
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    launch = launcher.plugin_command(started, program=program)
    _record_start(started, launch.label, getattr(args, "run_as", None))
    try:
        return _run_plugin(started, launch)
    finally:
        _record_end(started.session_id, None)  # a plugin's exit code is not the remote status


def _run_command(args: argparse.Namespace) -> int:
    """`--command`: the wrapper's session in this process; the remote status, or 255."""
    from ssm_tui.aws.errors import SsmTuiError
    from ssm_tui.commands import remote_command

    parameters = {"command": [remote_command.wrapper(args.remote_command)]}
    try:
        _find(args)
        started = asyncio.run(
            _start(
                args.profile,
                args.region,
                args.target,
                remote_command.INTERACTIVE_DOCUMENT,
                parameters,
                args.reason,
            )
        )
    except SsmTuiError as exc:
        return _fail(exc.message, exc.hint)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    _record_start(started, "builtin", getattr(args, "run_as", None))
    outcome = remote_command.Outcome(None, "interrupted", signal.SIGINT)
    try:
        outcome = asyncio.run(remote_command.run(started))
    except KeyboardInterrupt:
        pass
    finally:
        _end_session(started)
        _record_end(started.session_id, outcome.status)  # the remote status, when one came
    if outcome.message:
        print(f"ssm-tui connect: {outcome.message}", file=sys.stderr)
    if outcome.signal is not None:
        return 128 + outcome.signal
    if outcome.status is None:
        return EXIT_FAILURE
    return outcome.status


async def _start(
    profile: str | None,
    region: str | None,
    target: str,
    document: str | None,
    parameters: dict[str, list[str]],
    reason: str | None,
) -> Any:
    from ssm_tui.aws.sessions import start_session

    if not target.startswith(("i-", "mi-", "ecs:")):
        target = await _resolve_name(profile, region, target)
    return await start_session(profile, region, target, document, parameters or None, reason)


def _find(args: argparse.Namespace) -> None:
    """A TARGET that is a name: found in every profile's fleet (or `--profile`'s), offline ones
    with the reason no session can start; `args` then names its profile, region and id.

    Only when `select_profiles` finds no profile at all (credentials come from the default
    chain: an instance role, a container) does the name go to EC2 there (`_resolve_name`); a
    bad config or an unknown --profile is said as it is.
    """
    from ssm_tui.aws.exceptions import NoProfilesError
    from ssm_tui.commands.targets import NotFound, load_fleet, one_target

    if args.target.startswith(("i-", "mi-", "ecs:")):
        return
    try:
        fleet = load_fleet([args.profile] if args.profile else None, _regions_of(args.region))
    except NoProfilesError:
        return  # `_start` asks EC2 with the default chain (an instance role, say)
    try:
        instance = one_target(fleet.instances, args.target)
    except NotFound as exc:
        if fleet.errors and not exc.hint.startswith("`"):
            failed = ", ".join(sorted({e.profile for e in fleet.errors}))
            raise NotFound(exc.message, f"these profiles could not be listed: {failed}") from None
        raise
    args.profile, args.region, args.target = instance.profile, instance.region, instance.instance_id


def _regions_of(region: str | None) -> tuple[str, ...]:
    return (region,) if region else ()


async def _resolve_name(profile: str | None, region: str | None, name: str) -> str:
    """The one running EC2 instance whose Name tag is `name` (an error when none or several)."""
    from ssm_tui.aws import clients
    from ssm_tui.aws.errors import SsmTuiError, raise_for

    try:
        async with clients.client("ec2", profile, region) as ec2:
            response = await ec2.describe_instances(
                Filters=[
                    {"Name": "tag:Name", "Values": [name]},
                    {"Name": "instance-state-name", "Values": ["running"]},
                ]
            )
    except Exception as exc:
        raise raise_for(exc, profile or os.environ.get("AWS_PROFILE")) from None
    ids = [i["InstanceId"] for r in response.get("Reservations", []) for i in r["Instances"]]
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise SsmTuiError(
            f"no running instance named {name!r}", "give the instance id (ssm-tui list shows them)"
        )
    raise SsmTuiError(
        f"{len(ids)} running instances are named {name!r}: {', '.join(sorted(ids))}",
        "give the instance id",
    )


class _Terminated(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _run_plugin(started: Any, launch: Any) -> int:
    """Run the plugin in this terminal; always end the session afterwards."""
    argv, env = launch.argv, {**os.environ, **launch.env}
    # Handlers, not SIG_IGN: ignored signals would stay ignored in the child after exec.
    user_signals = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)
    saved = {s: signal.signal(s, lambda *_: None) for s in user_signals}

    def terminate(signum: int, _frame: object) -> None:
        raise _Terminated(signum)

    saved_term = {s: signal.signal(s, terminate) for s in (signal.SIGTERM, signal.SIGHUP)}
    process: subprocess.Popen[bytes] | None = None
    try:
        try:
            process = subprocess.Popen(argv, env=env, pass_fds=launch.pass_fds)
        finally:
            launch.close()  # the response pipe is the child's now
        code = process.wait()
        return 128 - code if code < 0 else code
    except _Terminated as exc:
        return 128 + exc.signum
    except OSError as exc:
        return _fail(f"cannot run the plugin {argv[0]}: {exc}")
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for signum, handler in {**saved, **saved_term}.items():
            signal.signal(signum, handler)
        _end_session(started)


def _record_start(started: Any, plugin: str, run_as: Any = None) -> None:
    """The session in the local record (history), as the app records its own; never fatal.

    `run_as`: the Run As preview's `aws.audit.RunAs` (issue 17), kept when it knew the user."""
    known = run_as is not None and run_as.source != "unknown" and run_as.user
    try:
        from ssm_tui.store import Store

        Store().record_session_start(
            started,
            account_id="",
            plugin=plugin,
            run_as=run_as.user if known else None,
            run_as_source=run_as.source if known else None,
        )
    except Exception as exc:  # noqa: BLE001 - history is a convenience, the session matters
        print(f"ssm-tui connect: note: session not recorded in history: {exc}", file=sys.stderr)


def _record_end(session_id: str, exit_status: int | None) -> None:
    try:
        from ssm_tui.store import Store

        Store().record_session_end(session_id, exit_status=exit_status)
    except Exception:  # noqa: BLE001 - _record_start already said so
        pass


def _end_session(started: Any) -> None:
    from ssm_tui.aws.sessions import terminate_session

    try:
        asyncio.run(
            terminate_session(started.profile or None, started.region or None, started.session_id)
        )
    except Exception as exc:  # noqa: BLE001 - the session's own outcome matters more
        print(
            f"ssm-tui connect: could not terminate session {started.session_id}: {exc}",
            file=sys.stderr,
        )
