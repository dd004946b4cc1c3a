"""The seeded world: accounts, regions, profiles and a fleet of instances, deterministic per seed.

Everything here is plain data so both APIs that show an instance (EC2 DescribeInstances and SSM
DescribeInstanceInformation) read the same record and can never disagree. A fixed list of
hand-written instances comes first (the cases tests and the demo rely on: markup-like tags, a
denied set, every ping state and platform); generated ones fill the fleet up to `--instances`.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

DEFAULT_SEED = 42
DEFAULT_INSTANCES = 40

ACCOUNTS: dict[str, str] = {
    "management": "111111111111",
    "prod": "222222222222",
    "dev": "333333333333",
}
ACCOUNT_ALIASES: dict[str, str] = {
    "111111111111": "acme-mgmt",
    "222222222222": "acme-prod",
    "333333333333": "acme-dev",
}
ACCOUNT_EMAILS: dict[str, str] = {
    "111111111111": "aws-management@acme.example",
    "222222222222": "aws-prod@acme.example",
    "333333333333": "aws-dev@acme.example",
}
REGIONS: tuple[str, ...] = ("us-east-1", "eu-west-1")
MANAGEMENT_ACCOUNT = ACCOUNTS["management"]

USER_NAME = "alice"
SSO_SESSION = f"ssm-tui-sandbox-{secrets.token_hex(4)}"
"""The sso-session name of this sandbox process: no real config has it (a real `acme` session's
token would be overwritten in ~/.aws/sso/cache), and two sandboxes never share a token file."""
SSO_START_URL = "https://acme-sandbox.awsapps.com/start"
SSO_REGION = "us-east-1"
SSO_USER = "alice"
SSO_ROLES: tuple[str, ...] = ("AdministratorAccess", "ReadOnlyAccess")

# The denied set: callers in this role cannot StartSession on instances carrying this tag, as an
# IAM policy with a `ssm:resourceTag/Restricted` condition would do.
DENIED_ROLE_NAME = "ReadOnly"
DENIED_TAG = ("Restricted", "true")

LATEST_AGENT = "3.3.1142.0"
OLD_AGENT = "3.2.582.0"


@dataclass(frozen=True, slots=True)
class Profile:
    """One profile of the written AWS config, and how the sandbox recognises its credentials."""

    name: str
    region: str
    role_arn: str | None = None
    role_session_name: str | None = None
    sso_account_id: str | None = None
    sso_role_name: str | None = None


PROFILES: tuple[Profile, ...] = (
    Profile("sandbox", "us-east-1"),
    Profile("prod", "us-east-1", role_arn="arn:aws:iam::222222222222:role/SSMOperator"),
    Profile(
        "dev",
        "eu-west-1",
        role_arn="arn:aws:iam::333333333333:role/SSMOperator",
        role_session_name=USER_NAME,
    ),
    Profile("prod-readonly", "us-east-1", role_arn="arn:aws:iam::222222222222:role/ReadOnly"),
    Profile(
        "sso-dev",
        "us-east-1",
        sso_account_id="333333333333",
        sso_role_name="AdministratorAccess",
    ),
)


def sso_role_arn(account_id: str, role_name: str) -> str:
    """The role IAM Identity Center provisions for a permission set (fixed suffix per name)."""
    suffix = {"AdministratorAccess": "4b8e2f0c9d1a7e63", "ReadOnlyAccess": "0f2d6a9c3e5b7d18"}
    return (
        f"arn:aws:iam::{account_id}:role/aws-reserved/sso.amazonaws.com/"
        f"AWSReservedSSO_{role_name}_{suffix.get(role_name, '9a9a9a9a9a9a9a9a')}"
    )


@dataclass(slots=True)
class Instance:
    """One machine: an EC2 instance (`i-`, maybe managed) or a hybrid managed node (`mi-`)."""

    instance_id: str
    account_id: str
    region: str
    name: str
    platform_type: str  # Linux | Windows | MacOS
    platform_name: str
    platform_version: str
    ip_address: str
    computer_name: str
    tags: dict[str, str]
    ping_status: str | None
    """Online / ConnectionLost / Inactive; None for an EC2 instance without the agent."""
    agent_version: str | None
    last_ping: datetime | None
    registration_date: datetime | None = None
    # EC2 side (i-* only)
    ec2_state: str | None = None  # running | stopped
    instance_type: str | None = None
    image_id: str | None = None
    launch_time: datetime | None = None
    availability_zone: str | None = None
    subnet_id: str | None = None
    vpc_id: str | None = None
    private_dns: str | None = None
    reservation_id: str | None = None
    # hybrid side (mi-* only)
    activation_id: str | None = None
    iam_role: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_ec2(self) -> bool:
        return self.instance_id.startswith("i-")

    @property
    def managed(self) -> bool:
        return self.ping_status is not None

    @property
    def resource_type(self) -> str:
        return "EC2Instance" if self.is_ec2 else "ManagedInstance"


@dataclass(slots=True)
class World:
    seed: int
    instances: list[Instance]
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    """The moment ping times and launch times were drawn from."""
    by_id: dict[str, Instance] = field(default_factory=dict)
    managed_by_scope: dict[tuple[str, str], list[Instance]] = field(default_factory=dict)
    ec2_by_scope: dict[tuple[str, str], list[Instance]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for instance in self.instances:
            self.by_id[instance.instance_id] = instance
            scope = (instance.account_id, instance.region)
            if instance.managed:
                self.managed_by_scope.setdefault(scope, []).append(instance)
            if instance.is_ec2:
                self.ec2_by_scope.setdefault(scope, []).append(instance)

    def managed(self, account_id: str, region: str) -> list[Instance]:
        return self.managed_by_scope.get((account_id, region), [])

    def ec2(self, account_id: str, region: str) -> list[Instance]:
        return self.ec2_by_scope.get((account_id, region), [])

    def find(self, account_id: str, region: str, instance_id: str) -> Instance | None:
        """An instance as seen from one account and region (others' instances do not exist)."""
        instance = self.by_id.get(instance_id)
        if instance is None or (instance.account_id, instance.region) != (account_id, region):
            return None
        return instance


# (account name, region, kind, Name, platform key, state, extra tags)
# kind: "ec2" managed EC2, "ec2-bare" EC2 without the agent, "mi" hybrid node.
# state: Online / ConnectionLost / Inactive.
_SPECIALS: tuple[tuple[str, str, str, str, str, str, dict[str, str]], ...] = (
    ("management", "us-east-1", "ec2", "bastion", "al2023", "Online", {"Role": "bastion"}),
    ("management", "us-east-1", "ec2", "ci-runner", "ubuntu", "Online", {"Role": "ci"}),
    ("management", "us-east-1", "mi", "raspberrypi-office", "raspbian", "Online", {"Site": "HQ"}),
    ("management", "us-east-1", "ec2", "legacy-build", "al2", "ConnectionLost", {}),
    ("management", "eu-west-1", "ec2", "monitoring-eu", "al2023", "Online", {"Role": "metrics"}),
    ("prod", "us-east-1", "ec2", "web-1", "al2023", "Online", {"Role": "web", "Env": "prod"}),
    ("prod", "us-east-1", "ec2", "web-2", "al2023", "Online", {"Role": "web", "Env": "prod"}),
    ("prod", "us-east-1", "ec2", "api-1", "ubuntu", "Online", {"Role": "api", "Env": "prod"}),
    (
        "prod",
        "us-east-1",
        "ec2",
        "db-primary",
        "al2023",
        "Online",
        {"Role": "db", "Env": "prod", "Restricted": "true"},
    ),
    (
        "prod",
        "us-east-1",
        "ec2",
        "payments-core",
        "ubuntu",
        "Online",
        {"Role": "payments", "Env": "prod", "Restricted": "true"},
    ),
    ("prod", "us-east-1", "ec2", "win-ad-01", "win2022", "Online", {"Role": "directory"}),
    ("prod", "us-east-1", "ec2", "batch-worker", "al2023", "ConnectionLost", {"Role": "batch"}),
    (
        "prod",
        "us-east-1",
        "mi",
        "raspberrypi-kitchen",
        "raspbian",
        "Online",
        {"Owner": "[bold]ops[/bold]", "Site": "Kitchen"},
    ),
    (
        "prod",
        "us-east-1",
        "mi",
        "warehouse-scanner",
        "raspbian",
        "ConnectionLost",
        {"Note": "\x1b[31mRED ALERT\x1b[0m", "Site": "Warehouse"},
    ),
    ("prod", "us-east-1", "mi", "old-nas", "debian", "Inactive", {"Site": "Basement"}),
    ("prod", "us-east-1", "ec2-bare", "unmanaged-legacy", "al2", "Online", {"Role": "legacy"}),
    ("prod", "us-east-1", "ec2", "[bold red]web-3[/]", "al2023", "Online", {"Role": "web"}),
    (
        "prod",
        "eu-west-1",
        "ec2",
        "web-eu-1",
        "al2023",
        "Online",
        {"Role": "web", "Team": "数据平台 🚀"},
    ),
    ("prod", "eu-west-1", "ec2", "api-eu-1", "ubuntu", "Online", {"Role": "api"}),
    ("prod", "eu-west-1", "ec2", "mac-builder", "macos", "Online", {"Role": "ci"}),
    ("prod", "eu-west-1", "mi", "edge-pi-dublin", "raspbian", "Online", {"Site": "Dublin"}),
    ("dev", "us-east-1", "ec2", "dev-sandbox-1", "al2023", "Online", {"Env": "dev"}),
    ("dev", "us-east-1", "ec2", "dev-win-1", "win2022", "Online", {"Env": "dev"}),
    ("dev", "us-east-1", "mi", "🍓 dev-pi", "raspbian", "Online", {"Env": "dev"}),
    (
        "dev",
        "eu-west-1",
        "ec2",
        "dev-web-eu",
        "ubuntu",
        "Online",
        {"Env": "dev", "Description": "[link=https://example.com]click[/link] $(reboot)"},
    ),
    ("dev", "eu-west-1", "ec2", "dev-db-eu", "al2023", "ConnectionLost", {"Env": "dev"}),
    (
        "dev",
        "eu-west-1",
        "mi",
        "lab-router",
        "debian",
        "Inactive",
        {"Note": "\x1b]0;pwned\x07title \x1b[2J"},
    ),
)

# platform key -> (PlatformType, PlatformName, PlatformVersion)
_PLATFORMS: dict[str, tuple[str, str, str]] = {
    "al2023": ("Linux", "Amazon Linux", "2023"),
    "al2": ("Linux", "Amazon Linux", "2"),
    "ubuntu": ("Linux", "Ubuntu", "22.04"),
    "debian": ("Linux", "Debian GNU/Linux", "12"),
    "raspbian": ("Linux", "Raspbian GNU/Linux", "11"),
    "win2022": ("Windows", "Microsoft Windows Server 2022 Datacenter", "10.0.20348"),
    "win2019": ("Windows", "Microsoft Windows Server 2019 Datacenter", "10.0.17763"),
    "macos": ("MacOS", "macOS", "14.4.1"),
}
_EC2_PLATFORM_WEIGHTS = (
    ("al2023", 40),
    ("al2", 10),
    ("ubuntu", 25),
    ("win2022", 12),
    ("win2019", 6),
    ("macos", 2),
)  # noqa: E501
_MI_PLATFORM_WEIGHTS = (("raspbian", 45), ("debian", 30), ("ubuntu", 20), ("win2019", 5))
_ROLES = ("web", "api", "worker", "cache", "queue", "etl", "search", "auth", "report", "cron")
_INSTANCE_TYPES = ("t3.micro", "t3.small", "t3.medium", "m5.large", "c6i.xlarge", "r6g.large")


def build_world(seed: int = DEFAULT_SEED, count: int = DEFAULT_INSTANCES) -> World:
    """The fleet for a seed: same seed and count, same ids, names, tags and states."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    builder = _Builder(rng, now)
    instances: list[Instance] = []
    for spec in _SPECIALS[:count]:
        instances.append(builder.make(*spec))
    accounts = list(ACCOUNTS)
    for index in range(len(instances), count):
        account = rng.choices(accounts, weights=(20, 45, 35))[0]
        region = rng.choices(REGIONS, weights=(65, 35))[0]
        roll = rng.random()
        if roll < 0.72:
            kind = "ec2"
        elif roll < 0.78:
            kind = "ec2-bare"
        else:
            kind = "mi"
        weights = _MI_PLATFORM_WEIGHTS if kind == "mi" else _EC2_PLATFORM_WEIGHTS
        platform = rng.choices([p for p, _ in weights], weights=[w for _, w in weights])[0]
        state_roll = rng.random()
        if kind == "mi":
            state = (
                "Online"
                if state_roll < 0.8
                else "ConnectionLost"
                if state_roll < 0.92
                else "Inactive"
            )  # noqa: E501
        else:
            state = "Online" if state_roll < 0.9 else "ConnectionLost"
        role = rng.choice(_ROLES)
        short = "use1" if region == "us-east-1" else "euw1"
        name = f"{role}-{short}-{index:05d}"
        tags = {"Role": role, "Env": account}
        if rng.random() < 0.05:
            tags["Restricted"] = "true"
        instances.append(builder.make(account, region, kind, name, platform, state, tags))
    return World(seed=seed, instances=instances, now=now)


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(digits * 4):0{digits}x}"

    def make(
        self,
        account_name: str,
        region: str,
        kind: str,
        name: str,
        platform: str,
        state: str,
        extra_tags: dict[str, str],
    ) -> Instance:
        rng = self.rng
        account_id = ACCOUNTS[account_name]
        platform_type, platform_name, platform_version = _PLATFORMS[platform]
        tags = {"Name": name, **extra_tags}
        old_agent = rng.random() < 0.15
        agent = OLD_AGENT if old_agent else LATEST_AGENT
        if state == "Online":
            last_ping = self.now - timedelta(seconds=rng.randint(5, 290))
        elif state == "ConnectionLost":
            last_ping = self.now - timedelta(hours=rng.randint(1, 72))
        else:
            last_ping = self.now - timedelta(days=rng.randint(31, 200))
        if kind == "mi":
            ip = f"192.168.{rng.randint(0, 254)}.{rng.randint(2, 254)}"
            computer = (
                _hostname(name) if platform_type != "Windows" else f"PC-{self._hex(6).upper()}"
            )  # noqa: E501
            return Instance(
                instance_id=f"mi-{self._hex(17)}",
                account_id=account_id,
                region=region,
                name=name,
                platform_type=platform_type,
                platform_name=platform_name,
                platform_version=platform_version,
                ip_address=ip,
                computer_name=computer,
                tags=tags,
                ping_status=state,
                agent_version=agent,
                last_ping=last_ping,
                registration_date=self.now - timedelta(days=rng.randint(40, 700)),
                activation_id=f"{self._hex(8)}-{self._hex(4)}-{self._hex(4)}-{self._hex(4)}-{self._hex(12)}",  # noqa: E501
                iam_role="SSMServiceRole",
            )
        ip = f"10.{rng.randint(0, 3)}.{rng.randint(0, 255)}.{rng.randint(4, 254)}"
        dns_suffix = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
        private_dns = f"ip-{ip.replace('.', '-')}.{dns_suffix}"
        if platform_type == "Windows":
            computer = f"EC2AMAZ-{self._hex(7).upper()}"
        else:
            computer = private_dns
        if platform_type == "MacOS":
            instance_type = "mac2.metal"
        else:
            instance_type = rng.choice(_INSTANCE_TYPES)
        managed = kind != "ec2-bare"
        return Instance(
            instance_id=f"i-{self._hex(17)}",
            account_id=account_id,
            region=region,
            name=name,
            platform_type=platform_type,
            platform_name=platform_name,
            platform_version=platform_version,
            ip_address=ip,
            computer_name=computer,
            tags=tags,
            ping_status=state if managed else None,
            agent_version=agent if managed else None,
            last_ping=last_ping if managed else None,
            ec2_state="stopped" if state == "ConnectionLost" else "running",
            instance_type=instance_type,
            image_id=f"ami-{self._hex(17)}",
            launch_time=self.now
            - timedelta(days=rng.randint(1, 400), minutes=rng.randint(0, 1440)),  # noqa: E501
            availability_zone=f"{region}{rng.choice('abc')}",
            subnet_id=f"subnet-{self._hex(17)}",
            vpc_id=f"vpc-{_stable_hex(account_id + region, 17)}",
            private_dns=private_dns,
            reservation_id=f"r-{self._hex(17)}",
        )


def _hostname(name: str) -> str:
    cleaned = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "-") else "-" for ch in name)
    return cleaned.strip("-") or "host"


def _stable_hex(text: str, digits: int) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()[:digits]


def profile_names(profiles: Iterable[Profile] = PROFILES) -> list[str]:
    return [profile.name for profile in profiles]
