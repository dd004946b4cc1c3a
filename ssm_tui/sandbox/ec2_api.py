"""EC2 DescribeInstances for the seeded fleet, rendered straight to XML.

moto's model-driven XML serializer costs ~4 ms per instance (a 10,000-instance fleet would take
~40 s per call), and it draws its own instance ids. The world's instances are served here instead,
from the same records DescribeInstanceInformation reads, so both APIs always agree; every other
EC2 operation is still moto's.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from ssm_tui.sandbox.errors import Reply, error_reply
from ssm_tui.sandbox.world import Instance, World

_STATE_CODES = {"pending": 0, "running": 16, "stopping": 64, "stopped": 80}


def _x(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z") if value else ""


def _platform_details(instance: Instance) -> str:
    return "Windows" if instance.platform_type == "Windows" else "Linux/UNIX"


_FILTERS: dict[str, Callable[[Instance], list[str]]] = {
    "instance-id": lambda i: [i.instance_id],
    "instance-state-name": lambda i: [i.ec2_state or ""],
    "instance-state-code": lambda i: [str(_STATE_CODES.get(i.ec2_state or "", 0))],
    "instance-type": lambda i: [i.instance_type or ""],
    "platform": lambda i: ["windows"] if i.platform_type == "Windows" else [],
    "platform-details": lambda i: [_platform_details(i)],
    "availability-zone": lambda i: [i.availability_zone or ""],
    "placement-availability-zone": lambda i: [i.availability_zone or ""],
    "private-ip-address": lambda i: [i.ip_address],
    "network-interface.addresses.private-ip-address": lambda i: [i.ip_address],
    "private-dns-name": lambda i: [i.private_dns or ""],
    "vpc-id": lambda i: [i.vpc_id or ""],
    "subnet-id": lambda i: [i.subnet_id or ""],
    "image-id": lambda i: [i.image_id or ""],
    "reservation-id": lambda i: [i.reservation_id or ""],
    "owner-id": lambda i: [i.account_id],
    "tag-key": lambda i: list(i.tags),
    "tag-value": lambda i: list(i.tags.values()),
}


def _filter_values(instance: Instance, name: str) -> list[str]:
    if name.startswith("tag:"):
        value = instance.tags.get(name[4:])
        return [] if value is None else [value]
    return _FILTERS[name](instance)


def _matches(instance: Instance, name: str, patterns: list[str]) -> bool:
    values = _filter_values(instance, name)
    if any(value in patterns for value in values):  # a plain value matches itself: no fnmatch
        return True
    return any(
        fnmatch.fnmatchcase(value, pattern)
        for value in values
        for pattern in patterns
        if set(pattern) & _WILDCARDS
    )


_WILDCARDS = set("*?[")


def _instance_xml(instance: Instance) -> str:
    state = instance.ec2_state or "running"
    arch = "arm64" if instance.platform_type == "MacOS" else "x86_64"
    tags = "".join(
        f"<item><key>{_x(k)}</key><value>{_x(v)}</value></item>" for k, v in instance.tags.items()
    )
    platform = "<platform>windows</platform>" if instance.platform_type == "Windows" else ""
    if instance.platform_type == "Windows":  # launched with the seeded key pair (RDP password)
        platform += "<keyName>acme-windows</keyName>"
    state_reason = (
        "<stateReason><code>Client.UserInitiatedShutdown</code><message>"
        "Client.UserInitiatedShutdown: User initiated shutdown</message></stateReason>"
        if state == "stopped"
        else ""
    )
    return (
        "<item>"
        f"<instanceId>{instance.instance_id}</instanceId>"
        f"<imageId>{instance.image_id}</imageId>"
        f"<instanceState><code>{_STATE_CODES.get(state, 16)}</code><name>{state}</name>"
        "</instanceState>"
        f"<privateDnsName>{_x(instance.private_dns or '')}</privateDnsName>"
        "<dnsName></dnsName><reason></reason><amiLaunchIndex>0</amiLaunchIndex>"
        "<productCodes/>"
        f"<instanceType>{instance.instance_type}</instanceType>"
        f"<launchTime>{_time(instance.launch_time)}</launchTime>"
        f"<placement><availabilityZone>{instance.availability_zone}</availabilityZone>"
        "<groupName></groupName><tenancy>default</tenancy></placement>"
        f"{platform}"
        f"<platformDetails>{_platform_details(instance)}</platformDetails>"
        "<monitoring><state>disabled</state></monitoring>"
        f"<subnetId>{instance.subnet_id}</subnetId><vpcId>{instance.vpc_id}</vpcId>"
        f"<privateIpAddress>{instance.ip_address}</privateIpAddress>"
        "<sourceDestCheck>true</sourceDestCheck><groupSet/>"
        # every managed EC2 instance of the sandbox has the instance profile SSM needs
        f"<iamInstanceProfile><arn>arn:aws:iam::{instance.account_id}:instance-profile/"
        "SSMInstanceProfile</arn><id>AIPAEXAMPLESSMPROFILE</id></iamInstanceProfile>"
        f"{state_reason}"
        f"<architecture>{arch}</architecture><rootDeviceType>ebs</rootDeviceType>"
        "<rootDeviceName>/dev/xvda</rootDeviceName><blockDeviceMapping/>"
        "<virtualizationType>hvm</virtualizationType>"
        f"<tagSet>{tags}</tagSet>"
        "<hypervisor>xen</hypervisor><ebsOptimized>false</ebsOptimized>"
        "<enaSupport>true</enaSupport>"
        "</item>"
    )


def _reservation_xml(instance: Instance) -> str:
    return (
        f"<item><reservationId>{instance.reservation_id}</reservationId>"
        f"<ownerId>{instance.account_id}</ownerId><groupSet/>"
        f"<instancesSet>{_instance_xml(instance)}</instancesSet></item>"
    )


def _bad(code: str, message: str) -> Reply:
    return error_reply("ec2", code, message, 400)


def _indexed(params: dict[str, list[str]], prefix: str) -> list[str]:
    """Values of `Prefix.1`, `Prefix.2`, ... in index order."""
    found: list[tuple[int, str]] = []
    for key, values in params.items():
        if key.startswith(prefix + "."):
            suffix = key[len(prefix) + 1 :]
            if suffix.isdigit():
                found.append((int(suffix), values[0]))
    return [value for _, value in sorted(found)]


def _filters(params: dict[str, list[str]]) -> list[tuple[str, list[str]]]:
    names: dict[int, str] = {}
    values: dict[int, list[tuple[int, str]]] = {}
    for key, raw in params.items():
        parts = key.split(".")
        if parts[0] != "Filter" or len(parts) < 3 or not parts[1].isdigit():
            continue
        index = int(parts[1])
        if parts[2] == "Name":
            names[index] = raw[0]
        elif parts[2] == "Value" and len(parts) == 4 and parts[3].isdigit():
            values.setdefault(index, []).append((int(parts[3]), raw[0]))
    return [(names[i], [v for _, v in sorted(values.get(i, []))]) for i in sorted(names)]


def _literal_ids(name: str, values: list[str]) -> bool:
    return name == "instance-id" and not any(set(value) & set("*?[") for value in values)


def _by_ids(world: World, account_id: str, region: str, ids: list[str]) -> dict[str, Instance]:
    """The EC2 instances among `ids` that exist in this account and region, by id."""
    found = {}
    for iid in ids:
        instance = world.find(account_id, region, iid)
        if instance is not None and instance.is_ec2:
            found[iid] = instance
    return found


def describe_instances(world: World, account_id: str, region: str, body: bytes) -> Reply:
    """Answer one DescribeInstances query-protocol request (status, headers, XML body)."""
    params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    instance_ids = _indexed(params, "InstanceId")
    filters = _filters(params)
    for name, _ in filters:
        if name not in _FILTERS and not name.startswith("tag:"):
            return _bad("InvalidParameterValue", f"The filter '{name}' is invalid")
    max_results = params.get("MaxResults", [None])[0]
    if max_results is not None and instance_ids:
        return _bad(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
    candidates = world.ec2(account_id, region)
    if instance_ids:
        by_id = _by_ids(world, account_id, region, instance_ids)
        missing = [iid for iid in instance_ids if iid not in by_id]
        if missing:
            for iid in missing:
                if not iid.startswith("i-"):
                    return _bad("InvalidInstanceID.Malformed", f'Invalid id: "{iid}"')
            listed = ", ".join(missing)
            plural = "s" if len(missing) > 1 else ""
            return _bad(
                "InvalidInstanceID.NotFound",
                f"The instance ID{plural} '{listed}' do{'' if plural else 'es'} not exist",
            )
        candidates = [by_id[iid] for iid in dict.fromkeys(instance_ids)]
    exact_ids = next((values for name, values in filters if _literal_ids(name, values)), None)
    if exact_ids is not None and not instance_ids:
        # An `instance-id` filter of plain ids (what an inventory sends, up to 200 of them): look
        # them up instead of matching every instance of the region against every pattern.
        found = _by_ids(world, account_id, region, exact_ids)
        candidates = [found[iid] for iid in dict.fromkeys(exact_ids) if iid in found]
    if filters:
        candidates = [
            instance
            for instance in candidates
            if all(_matches(instance, name, patterns) for name, patterns in filters)
        ]
    offset = 0
    token = params.get("NextToken", [None])[0]
    if token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return _bad("InvalidParameterValue", f"Invalid value '{token}' for nextToken")
    next_token = ""
    if max_results is not None:
        size = int(max_results)
        if size < 5 or size > 1000:
            return _bad(
                "InvalidParameterValue",
                f"Value ( {size} ) for parameter maxResults is invalid. "
                "Expecting a value between 5 and 1000.",
            )
        page = candidates[offset : offset + size]
        if offset + size < len(candidates):
            raw = json.dumps({"o": offset + size}).encode()
            next_token = f"<nextToken>{base64.urlsafe_b64encode(raw).decode()}</nextToken>"
    else:
        page = candidates[offset:]
    reservations = "".join(_reservation_xml(instance) for instance in page)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        f"<requestId>{uuid.uuid4()}</requestId>"
        f"<reservationSet>{reservations}</reservationSet>{next_token}"
        "</DescribeInstancesResponse>"
    )
    return Reply(200, [(b"content-type", b"text/xml;charset=UTF-8")], text.encode())
