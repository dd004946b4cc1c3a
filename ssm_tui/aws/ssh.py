"""SSH over Session Manager: keys, EC2 Instance Connect, and the ssh options that use our proxy.

The transport is `AWS-StartSSHSession` run by our own plugin as ssh's ProxyCommand
(`ssm-tui ssh-proxy`, which starts the session itself: the session token never appears on a
command line). The key is pushed with `ec2-instance-connect SendSSHPublicKey` for the OS user;
the instance accepts it for 60 seconds, long enough for ssh to log in. Keys are a throw-away
ED25519 pair made for one `ssm-tui ssh` (deleted afterwards), the user's own (`--identity`), or
for `ssh-config` hosts a pair kept in ssm-tui's data folder (`ssh/id_ed25519`, mode 0600).

Hybrid `mi-` nodes have no Instance Connect: ssh then uses the user's key, which must be in the
node's `authorized_keys`.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from ssm_tui.aws.models import Instance

SSH_DOCUMENT = "AWS-StartSSHSession"
DEFAULT_USERS: dict[str, str] = {
    "Amazon Linux": "ec2-user",
    "Ubuntu": "ubuntu",
    "Debian GNU/Linux": "admin",
    "Raspbian GNU/Linux": "pi",
    "CentOS Linux": "centos",
    "Red Hat Enterprise Linux": "ec2-user",
    "SLES": "ec2-user",
    "macOS": "ec2-user",
}
"""The AMIs' default login per platform name (as AWS documents them for each distribution)."""


def default_user(instance: Instance) -> str:
    for prefix, user in DEFAULT_USERS.items():
        if instance.platform_name.startswith(prefix):
            return user
    return "ec2-user"


def supports_instance_connect(instance: Instance) -> bool:
    return instance.instance_id.startswith("i-") and instance.supports_ssh


def data_dir() -> Path:
    import platformdirs

    path = platformdirs.user_data_path("ssm-tui") / "ssh"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def known_hosts() -> Path:
    """Host keys of instances, under their instance ids (HostKeyAlias): ssm-tui's own file."""
    return data_dir() / "known_hosts"


def new_key(path: Path, comment: str = "ssm-tui") -> Path:
    """Write a fresh ED25519 pair: `path` (0600, OpenSSH format) and `path.pub`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    Path(f"{path}.pub").write_bytes(public + f" {comment}\n".encode())
    return path


def managed_key() -> Path:
    """The pair `ssh-config` hosts use (made once)."""
    path = data_dir() / "id_ed25519"
    if not path.exists() or not Path(f"{path}.pub").exists():
        new_key(path, "ssm-tui ssh-config")
    return path


def public_key(identity: Path) -> str:
    """The OpenSSH public key line of a private key file (its .pub, else derived from it)."""
    from ssm_tui.aws.errors import SsmTuiError

    pub = Path(f"{identity}.pub")
    if pub.is_file():
        return pub.read_text(encoding="utf-8").strip()
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_ssh_private_key(identity.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SsmTuiError(
            f"cannot read the public key of {identity}: {exc}",
            f"put it next to the key as {identity}.pub",
        ) from None
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


async def push_key(
    profile: str | None, region: str | None, instance: str, user: str, key: str
) -> None:
    """SendSSHPublicKey: the instance accepts `key` for `user` for the next 60 seconds."""
    from ssm_tui.aws import clients
    from ssm_tui.aws.errors import raise_for

    try:
        async with clients.client("ec2-instance-connect", profile, region) as eic:
            await eic.send_ssh_public_key(
                InstanceId=instance, InstanceOSUser=user, SSHPublicKey=key
            )
    except Exception as exc:
        raise raise_for(exc, profile) from None


def proxy_argv(
    instance: Instance, *, push_key_file: Path | None = None, user: str | None = None
) -> list[str]:
    """`ssm-tui ssh-proxy` for this instance, run with this interpreter (no PATH needed)."""
    argv = [sys.executable, "-m", "ssm_tui.cli", "ssh-proxy"]
    if instance.profile:
        argv += ["--profile", instance.profile]
    if instance.region:
        argv += ["--region", instance.region]
    if push_key_file is not None:
        argv += ["--push-key", str(push_key_file), "--user", user or "%r"]
    return [*argv, instance.instance_id]


def proxy_command(argv: list[str]) -> str:
    """A ProxyCommand line: ssh runs it with /bin/sh, so every word is quoted (not `%r`)."""
    return " ".join(word if word == "%r" else shlex.quote(word) for word in argv)


def ssh_options(instance: Instance, user: str, identity: Path | None, proxy: str) -> list[str]:
    """The `-o` options and login that make plain ssh go through Session Manager."""
    options = [
        "-o",
        f"ProxyCommand={proxy}",
        "-o",
        f"HostKeyAlias={instance.instance_id}",
        "-o",
        f"UserKnownHostsFile={known_hosts()}",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        f"User={user}",  # not `-l`: scp reads that as a bandwidth limit
    ]
    if identity is not None:
        options += ["-i", str(identity), "-o", "IdentitiesOnly=yes"]
    return options
