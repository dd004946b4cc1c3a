"""The fleet: every managed instance of every chosen profile and region, listed concurrently.

One *scope* is a profile in a region. Each scope starts with one DescribeInstanceInformation page.
- A small scope (no NextToken: up to 50 nodes, most scopes) is done: its EC2 instances are
  described (Name tag, state, type, private IP) and its hybrid `mi-*` nodes' tags are read
  (ListTagsForResource), concurrently.
- A big scope is *partitioned* instead of walking the rest of the NextToken chain, whose ~110 ms
  per 50 nodes would be the floor of the whole listing (10,000 nodes: 20+ s). Two disjoint parts
  that together hold every node: (a) EC2 DescribeInstances of the region (pages of 1,000, their
  data is the enrichment anyway), whose ids go to DescribeInstanceInformation in concurrent
  `InstanceIds` filter calls of 50 (ids without the agent are simply absent from the answer);
  (b) the DescribeInstanceInformation chain filtered on ResourceType=ManagedInstance, for the
  hybrid nodes (usually a minority). See `_partitioned` for why this misses no node. If EC2
  DescribeInstances is denied, or under a quarter of the region's EC2 instances have the agent
  (`MIN_MANAGED_SHARE`), the plain chain continues from the first page's NextToken.
Scopes run concurrently, bounded per account and region (that is where AWS applies its API rate
limits); botocore's retries (`clients.RETRY_MODE`) absorb throttling (no sleeps here). A failing
scope yields a `ScopeResult` with `error` and never stops the others.

Every call's reply is parsed on the one event loop that also drives all other calls, so the two
bulky replies are parsed lean on the inventory's own clients (`lean_ec2`, `lean_ssm`): measured,
botocore's generic parsing was most of a 10,000-node listing's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from botocore import exceptions as bce
from botocore.utils import parse_timestamp

from ssm_tui.aws import accounts
from ssm_tui.aws.clients import client, config_fingerprint
from ssm_tui.aws.errors import DENIED_CODES, SsmTuiError, explain
from ssm_tui.aws.models import Instance, Profile, Scope, ScopeError, ScopeResult
from ssm_tui.aws.profiles import broken_profile, load_profiles
from ssm_tui.aws.settings import Settings, load_settings

MAX_SCOPES_PER_ACCOUNT_REGION = 8
"""Scopes of one account and region listed at once (AWS rate-limits per account and region)."""
MAX_CALLS_PER_ACCOUNT_REGION = 32
"""Concurrent enrichment calls (EC2 batches, tag reads, id chunks) into one account and region.

A client keeps a few more connections (`clients.MAX_POOL_CONNECTIONS`). A big account's listing is
mostly one ListTagsForResource per hybrid node (2,000 calls for 10,000 nodes), so this bound
sets its pace: measured at 100 ms latency (one run each), 16 gave 14.5 s and 32 gave 10.6 s.
Throttling beyond it is botocore's retry's job (`clients.RETRY_MODE`)."""
DII_PAGE_SIZE = 50
"""DescribeInstanceInformation's largest page."""
EC2_BATCH = 200
"""Most instance ids in one EC2 DescribeInstances `instance-id` filter (EC2's limit per filter).

Small scopes and the plain chain: each DescribeInstanceInformation page (<= 50 nodes) gets its own
EC2 call as soon as it arrives; the filter on those ids (rather than the region-wide listing) only
carries managed instances. A filter rather than `InstanceIds` because an id that vanished between
the two calls (terminated meanwhile) makes `InstanceIds` fail the whole call, while a filter just
omits it."""
EC2_PAGE_SIZE = 1000
"""DescribeInstances' largest page: a big scope lists its region's instances in few round trips."""
ID_CHUNK = 50
"""Ids per DescribeInstanceInformation `InstanceIds` filter: its largest page, so one call each."""
LIVE_EC2_STATES = ("pending", "running", "shutting-down", "stopping", "stopped")
"""Every EC2 state but `terminated`: DescribeInstances shows terminated instances for about an hour,
and they can no longer be managed nodes, so their ids need not be asked about."""
MIN_MANAGED_SHARE = 0.25
"""Least share of a big scope's EC2 instances with the agent for the partition to pay off.

The partition asks about every live EC2 instance (one call per 50) while the plain chain walks only
managed nodes (one page per 50, one after the other). When more than one page of instances comes
back, the first page's ids are asked first; if under a quarter are managed (say most instances
have no instance profile), the scope walks the plain chain instead: the partition would cost 4x+
the calls for little gain in time. The probe costs one round of up to 20 concurrent calls."""
HYBRID_FILTER = [{"Key": "ResourceType", "Values": ["ManagedInstance"]}]
"""DescribeInstanceInformation's filter for nodes that are not EC2 instances (`mi-*`)."""


@dataclass(slots=True)
class _Found:
    """What a scope's calls gathered: node info, EC2 details and `mi-*` tags, each by id."""

    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    ec2: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    ec2_error: Exception | None = None
    """Why some EC2 detail is missing (throttled past the retries, denied): the first such error.
    The SSM rows stand without it (`ScopeResult.partial`)."""


_EC2_FAILURES = (bce.ClientError, bce.BotoCoreError)
"""What an EC2 enrichment call may fail with while the scope's SSM rows still stand."""


def _error_code(exc: bce.ClientError) -> str | None:
    return exc.response.get("Error", {}).get("Code")


def lean_describe_instances(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Parse a DescribeInstances reply into only the fields the inventory reads (a botocore
    `before-parse` handler, registered on the inventory's own EC2 clients only).

    Why: botocore walks EC2's whole output model in Python for every instance (~0.55 ms each,
    measured: 4-5 s of CPU for 10,000 instances, on the event loop that also drives every other
    call). ElementTree (C) builds the tree and this picks InstanceId, State.Name, InstanceType,
    PrivateIpAddress and Tags into botocore's own shapes; the body botocore then parses is cut
    down to the request id, and botocore merges `customized_response_dict` into its result. Error
    replies are left to botocore.
    """
    body = response_dict.get("body")
    if response_dict.get("status_code", 500) >= 300 or not isinstance(body, bytes):
        return
    root = ET.fromstring(body)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    fields = [
        ("InstanceType", ns + "instanceType"),
        ("PrivateIpAddress", ns + "privateIpAddress"),
        ("ImageId", ns + "imageId"),
        ("VpcId", ns + "vpcId"),
        ("SubnetId", ns + "subnetId"),
    ]
    reservations = []
    for reservation in root.iterfind(f"{ns}reservationSet/{ns}item"):
        instances = []
        for item in reservation.iterfind(f"{ns}instancesSet/{ns}item"):
            instance: dict[str, Any] = {"InstanceId": item.findtext(ns + "instanceId", "")}
            state = item.find(ns + "instanceState")
            if state is not None:
                instance["State"] = {"Name": state.findtext(ns + "name", "")}
            for key, tag in fields:
                value = item.findtext(tag)
                if value is not None:
                    instance[key] = value
            profile = item.findtext(f"{ns}iamInstanceProfile/{ns}arn")
            if profile:
                instance["IamInstanceProfile"] = {"Arn": profile}
            tags = item.find(ns + "tagSet")
            if tags is not None:
                instance["Tags"] = [
                    {"Key": t.findtext(ns + "key", ""), "Value": t.findtext(ns + "value", "")}
                    for t in tags.iterfind(ns + "item")
                ]
            instances.append(instance)
        reservations.append(
            {
                "ReservationId": reservation.findtext(ns + "reservationId", ""),
                "Instances": instances,
            }
        )
    customized_response_dict["Reservations"] = reservations
    token = root.findtext(ns + "nextToken")
    if token:
        customized_response_dict["NextToken"] = token
    request_id = escape(root.findtext(ns + "requestId", ""))
    response_dict["body"] = (
        f"<DescribeInstancesResponse><requestId>{request_id}</requestId></DescribeInstancesResponse>"
    ).encode()


def lean_describe_instance_information(
    operation_model: Any,
    response_dict: dict[str, Any],
    customized_response_dict: dict[str, Any],
    **_: Any,
) -> None:
    """Parse a DescribeInstanceInformation reply with `json` and convert only its timestamps (a
    botocore `before-parse` handler, on the inventory's own SSM clients only).

    Why: botocore's JSON parser walks the model for every field of every node (~6 ms of CPU per
    page of 50, measured; a 10,000-node account has 200+ pages). The result is the same dicts
    botocore builds: only the model's members, None values dropped, timestamps through botocore's
    own `parse_timestamp`. Error replies are left to botocore.
    """
    body = response_dict.get("body")
    if response_dict.get("status_code", 500) >= 300 or not isinstance(body, bytes) or not body:
        return
    members = operation_model.output_shape.members["InstanceInformationList"].member.members
    stamps = [name for name, shape in members.items() if shape.type_name == "timestamp"]
    data = json.loads(body)
    nodes = []
    for raw in data.get("InstanceInformationList") or ():
        node = {key: value for key, value in raw.items() if key in members and value is not None}
        for name in stamps:
            if name in node:
                node[name] = parse_timestamp(node[name])
        nodes.append(node)
    customized_response_dict["InstanceInformationList"] = nodes
    if data.get("NextToken"):
        customized_response_dict["NextToken"] = data["NextToken"]
    response_dict["body"] = b"{}"  # botocore still adds ResponseMetadata from the headers


def lean_ec2(ec2: Any) -> Any:
    """`ec2` with `lean_describe_instances` registered (once) on its own event emitter."""
    ec2.meta.events.register(
        "before-parse.ec2.DescribeInstances",
        lean_describe_instances,
        unique_id="ssm-tui-lean-describe-instances",
    )
    return ec2


def lean_ssm(ssm: Any) -> Any:
    """`ssm` with `lean_describe_instance_information` registered (once) on its own emitter."""
    ssm.meta.events.register(
        "before-parse.ssm.DescribeInstanceInformation",
        lean_describe_instance_information,
        unique_id="ssm-tui-lean-describe-instance-information",
    )
    return ssm


def default_scopes(
    profiles: Iterable[Profile],
    regions: Sequence[str] | None = None,
    settings: Settings | None = None,
) -> list[Scope]:
    """Each profile in its own region (or its settings' regions) plus `regions`, no duplicates.

    A profile with no region at all gets one scope with region "" that fails with a hint, so the
    user sees why it is missing instead of it silently vanishing.
    """
    scopes: list[Scope] = []
    for profile in profiles:
        own = (
            settings.regions_for(profile.name, profile.region)
            if settings is not None
            else ([profile.region] if profile.region else [])
        )
        wanted = list(dict.fromkeys([*own, *(regions or ())]))
        scopes += [Scope(profile.name, region) for region in wanted] or [Scope(profile.name, "")]
    return list(dict.fromkeys(scopes))


def _name_of(tags: dict[str, str], computer_name: str, instance_id: str) -> str:
    return tags.get("Name") or computer_name or instance_id


class InventoryService:
    """Lists scopes concurrently; create one per app (it holds the per-account semaphores).

    `keep_clients=True` keeps each scope's SSM and EC2 clients open between `stream` calls, so a
    periodic refresh skips client creation (~25 ms of CPU per client, two per scope: seconds for
    a big fleet). The owner must then `await service.aclose()` (or use `async with`) in the same
    event loop. The default closes every client as soon as its scope is listed.
    """

    def __init__(
        self,
        *,
        max_scopes_per_account: int | None = None,
        max_calls_per_account: int = MAX_CALLS_PER_ACCOUNT_REGION,
        keep_clients: bool = False,
    ) -> None:
        if max_scopes_per_account is None:
            try:  # the settings file may lower it for accounts with tight API limits
                max_scopes_per_account = load_settings().max_concurrency_per_account
            except SsmTuiError:
                max_scopes_per_account = MAX_SCOPES_PER_ACCOUNT_REGION
        self._max_scopes = max(1, max_scopes_per_account)
        self._max_calls = max_calls_per_account
        self._scope_slots: dict[tuple[str, str, str], asyncio.Semaphore] = {}
        self._call_slots: dict[tuple[str, str, str], asyncio.Semaphore] = {}
        self._keep = keep_clients
        self._pool: dict[tuple, tuple[Any, Any]] = {}
        self._known: dict[Scope, dict[str, tuple[dict[str, str], str]]] = {}
        """Per scope, each EC2 instance's (tags, type) from the last listing that had them: a
        refresh whose EC2 calls fail keeps the names the user knows (not its state)."""
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> InventoryService:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the clients kept for refreshes (no-op without `keep_clients`)."""
        stack, self._stack = self._stack, contextlib.AsyncExitStack()
        self._pool.clear()
        await stack.aclose()

    @contextlib.asynccontextmanager
    async def _clients(self, scope: Scope) -> AsyncIterator[tuple[Any, Any]]:
        """The scope's (ssm, ec2) clients: fresh ones, or the kept pair for this scope."""
        if not self._keep:
            async with (
                client("ssm", scope.profile, scope.region) as ssm,
                client("ec2", scope.profile, scope.region) as ec2,
            ):
                yield lean_ssm(ssm), lean_ec2(ec2)
            return
        key = (config_fingerprint(), scope.profile, scope.region)
        if key not in self._pool:
            ssm = await self._stack.enter_async_context(client("ssm", scope.profile, scope.region))
            ec2 = await self._stack.enter_async_context(client("ec2", scope.profile, scope.region))
            self._pool[key] = (lean_ssm(ssm), lean_ec2(ec2))
        try:
            yield self._pool[key]
        except Exception:
            self._pool.pop(key, None)  # a failed scope gets fresh clients (and credentials) next
            raise

    async def stream(self, scopes: Sequence[Scope]) -> AsyncIterator[ScopeResult]:
        """Yield each scope's result as soon as it completes (any order; one per scope).

        Closing the iterator early cancels the scopes still running.
        """
        try:
            by_name = {p.name: p for p in load_profiles(include_discovered=True)}
        except SsmTuiError as exc:
            for scope in scopes:
                yield ScopeResult(scope, error=explain(exc, scope.profile, scope.region))
            return
        tasks = [asyncio.create_task(self.list_scope(s, by_name.get(s.profile))) for s in scopes]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def list_all(self, scopes: Sequence[Scope]) -> list[ScopeResult]:
        """Every scope's result, in the order of `scopes`."""
        done = {r.scope: r async for r in self.stream(scopes)}
        return [done[s] for s in scopes]

    def _slots(
        self, profile: Profile | None, scope: Scope, endpoint: str
    ) -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
        """Semaphores of the account and region this scope lands in.

        AWS rate-limits per account and region. The endpoint is part of the key too, so that two
        different services answering for the same account id (sandboxes, partitions) do not
        share a budget, while two profiles of one real account do. (The region is not implied by
        the endpoint: one `endpoint_url` may serve several regions, as the sandbox does.)
        """
        account = (profile.account_id if profile else None) or accounts.cached_account(
            scope.profile
        )
        key = (account or f"profile:{scope.profile}", scope.region, endpoint)
        if key not in self._scope_slots:
            self._scope_slots[key] = asyncio.Semaphore(self._max_scopes)
            self._call_slots[key] = asyncio.Semaphore(self._max_calls)
        return self._scope_slots[key], self._call_slots[key]

    async def list_scope(self, scope: Scope, profile: Profile | None = None) -> ScopeResult:
        """One scope's instances, or its error. Never raises (except cancellation)."""
        started = time.monotonic()
        try:
            if (why := broken_profile(scope.profile)) is not None:
                raise why  # its section holds a bad line: the file and line, not "no region"
            if not scope.region:
                raise bce.NoRegionError()
            async with self._clients(scope) as (ssm, ec2):
                scope_slots, call_slots = self._slots(profile, scope, ssm.meta.endpoint_url)
                async with scope_slots:
                    started = time.monotonic()
                    instances, partial = await self._list(scope, profile, ssm, ec2, call_slots)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes the scope's error row
            return ScopeResult(
                scope,
                error=explain(exc, scope.profile, scope.region or None),
                elapsed=time.monotonic() - started,
                fetched_at=datetime.now(UTC),
            )
        return ScopeResult(
            scope,
            instances=instances,
            elapsed=time.monotonic() - started,
            fetched_at=datetime.now(UTC),
            partial=partial,
        )

    async def _list(
        self,
        scope: Scope,
        profile: Profile | None,
        ssm: Any,
        ec2: Any,
        call_slots: asyncio.Semaphore,
    ) -> tuple[tuple[Instance, ...], ScopeError | None]:
        found = _Found()
        async with asyncio.TaskGroup() as group:
            account_task = group.create_task(self._account_id(scope, profile))
            first = await ssm.describe_instance_information(MaxResults=DII_PAGE_SIZE)
            token = first.get("NextToken")
            outcome = await self._partitioned(ssm, ec2, call_slots, found) if token else "small"
            if outcome != "done":
                # A small scope, EC2 failed or mostly unmanaged: the plain chain, page by page.
                with_ec2 = outcome != "no-ec2"
                found.infos.clear()  # a sparse probe's nodes: the chain lists them again
                page, seen = first, set()
                while True:
                    self._enrich(group, ssm, ec2, call_slots, found, page, with_ec2)
                    if not (token := page.get("NextToken")):
                        break
                    if token in seen:  # as botocore's paginator: never loop on a stuck token
                        raise bce.PaginationError(message=f"NextToken repeated: {token}")
                    seen.add(token)
                    # The service's own token (a paginator's StartingToken is its own encoding).
                    page = await ssm.describe_instance_information(
                        MaxResults=DII_PAGE_SIZE, NextToken=token
                    )
        account_id = account_task.result() or ""
        label = accounts.cached_label(account_id) or scope.profile
        known = self._remember(scope, found)
        instances = tuple(
            self._instance(scope, account_id, label, info, found.ec2, found.tags, known)
            for info in found.infos.values()
        )
        if found.ec2_error is None:
            return instances, None
        why = explain(found.ec2_error, scope.profile, scope.region)
        message = f"EC2 details missing (names from SSM or an earlier listing): {why.message}"
        return instances, why._replace(message=message)

    def _remember(self, scope: Scope, found: _Found) -> dict[str, tuple[dict[str, str], str]]:
        """Keep this listing's EC2 names for the next; the names known from before if it has
        none of its own (its EC2 calls failed)."""
        seen = {
            node_id: (
                {t["Key"]: t.get("Value", "") for t in detail.get("Tags", []) or []},
                detail.get("InstanceType", "") or "",
            )
            for node_id, detail in found.ec2.items()
            if node_id in found.infos
        }
        if found.ec2_error is None:
            self._known[scope] = seen
        else:
            self._known.setdefault(scope, {}).update(seen)
        return self._known[scope]

    def _enrich(
        self,
        group: asyncio.TaskGroup,
        ssm: Any,
        ec2: Any,
        slots: asyncio.Semaphore,
        found: _Found,
        page: dict[str, Any],
        with_ec2: bool,
    ) -> None:
        """Record one page of nodes; start its EC2 batch and its `mi-*` tag reads (they run
        while the next page is fetched)."""
        ec2_ids = []
        for info in page.get("InstanceInformationList", []):
            node_id = info["InstanceId"]
            found.infos[node_id] = info
            if node_id.startswith("i-"):
                ec2_ids.append(node_id)
            else:
                group.create_task(self._read_tags(ssm, node_id, found.tags, slots))
        if with_ec2:
            ec2_ids = [node_id for node_id in ec2_ids if node_id not in found.ec2]
            for start in range(0, len(ec2_ids), EC2_BATCH):
                chunk = ec2_ids[start : start + EC2_BATCH]
                group.create_task(self._describe_ec2(ec2, chunk, found, slots))

    async def _partitioned(
        self, ssm: Any, ec2: Any, slots: asyncio.Semaphore, found: _Found
    ) -> str:
        """List a big scope in two disjoint parts that hold every node.

        Returns "done", or why the caller should walk the plain chain instead: "no-ec2" (EC2
        DescribeInstances denied or throttled past its retries: `found.ec2_error` says which)
        or "sparse" (see `MIN_MANAGED_SHARE`).

        Why no node is missed: a node's ResourceType is EC2Instance or ManagedInstance (the only
        two values DescribeInstanceInformation accepts in that filter). ManagedInstance nodes all
        come from the filtered chain. An EC2Instance node is a live instance of this region (AWS
        drops an instance from DescribeInstanceInformation once it stops or terminates), so
        DescribeInstances lists it and its id is asked about. An `InstanceIds` filter answers with
        the managed ones among the ids and leaves the others out (no error), so instances without
        the agent cost nothing but their id. Like the plain chain this is not one atomic snapshot:
        a node registering during the listing may or may not be in it.
        """
        pages = aiter(
            ec2.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-state-name", "Values": list(LIVE_EC2_STATES)}],
                PaginationConfig={"PageSize": EC2_PAGE_SIZE},
            )
        )
        try:
            page = await anext(pages, None)
        except _EC2_FAILURES as exc:
            found.ec2_error = exc
            return "no-ec2"  # the plain chain, with SSM's own fields only
        ids = self._record_ec2(page, found)
        probed = page is not None and bool(page.get("NextToken"))
        if probed:  # more than a page of EC2 instances: are enough of them managed?
            async with asyncio.TaskGroup() as probe:
                for start in range(0, len(ids), ID_CHUNK):
                    chunk = ids[start : start + ID_CHUNK]
                    probe.create_task(self._nodes_by_id(ssm, chunk, found, slots))
            if sum(node_id in found.infos for node_id in ids) < MIN_MANAGED_SHARE * len(ids):
                return "sparse"
        async with asyncio.TaskGroup() as group:
            group.create_task(self._hybrid_nodes(ssm, slots, group, found))
            while page is not None:
                if not probed:
                    for start in range(0, len(ids), ID_CHUNK):
                        chunk = ids[start : start + ID_CHUNK]
                        group.create_task(self._nodes_by_id(ssm, chunk, found, slots))
                probed = False
                try:
                    page = await anext(pages, None)
                except _EC2_FAILURES as exc:  # a later page failed: its nodes would be missed
                    found.ec2_error = exc
                    break
                ids = self._record_ec2(page, found)
        return "done" if found.ec2_error is None else "no-ec2"

    @staticmethod
    def _record_ec2(page: dict[str, Any] | None, found: _Found) -> list[str]:
        """Keep a DescribeInstances page's instances; their ids, in order."""
        ids = []
        for reservation in (page or {}).get("Reservations", []):
            for instance in reservation.get("Instances", []):
                found.ec2[instance["InstanceId"]] = instance
                ids.append(instance["InstanceId"])
        return ids

    async def _hybrid_nodes(
        self, ssm: Any, slots: asyncio.Semaphore, group: asyncio.TaskGroup, found: _Found
    ) -> None:
        """The ResourceType=ManagedInstance chain; each page's tag reads start at once."""
        pages = ssm.get_paginator("describe_instance_information").paginate(
            Filters=HYBRID_FILTER, PaginationConfig={"PageSize": DII_PAGE_SIZE}
        )
        async for page in pages:
            self._enrich(group, ssm, None, slots, found, page, with_ec2=False)

    @staticmethod
    async def _nodes_by_id(
        ssm: Any, ids: list[str], found: _Found, slots: asyncio.Semaphore
    ) -> None:
        """The managed nodes among `ids` (one call: at most a page of ids)."""
        async with slots:
            pages = ssm.get_paginator("describe_instance_information").paginate(
                Filters=[{"Key": "InstanceIds", "Values": ids}],
                PaginationConfig={"PageSize": DII_PAGE_SIZE},
            )
            async for page in pages:
                for info in page.get("InstanceInformationList", []):
                    found.infos[info["InstanceId"]] = info

    @staticmethod
    async def _account_id(scope: Scope, profile: Profile | None) -> str | None:
        """The scope's account id: known, cached, else one GetCallerIdentity per profile.

        The region is given (the profile's own, else the scope's) rather than looked up by
        `accounts.account_id`, which re-reads the whole AWS config for it: measured, that was a
        quarter of the CPU of a cold 40-profile listing.
        """
        if profile is not None and profile.account_id:
            return profile.account_id
        known = accounts.cached_account(scope.profile)
        if known:
            return known
        region = (profile.region if profile is not None else None) or scope.region
        try:
            return (await accounts.caller_identity(scope.profile, region))["Account"]
        except Exception:  # noqa: BLE001 - the listing itself reports credential problems
            return None

    @staticmethod
    async def _describe_ec2(
        ec2: Any, ids: list[str], found: _Found, slots: asyncio.Semaphore
    ) -> None:
        async with slots:
            if found.ec2_error is not None:  # an earlier batch already failed: spare the retries
                return
            try:
                pages = ec2.get_paginator("describe_instances").paginate(
                    Filters=[{"Name": "instance-id", "Values": ids}],
                    PaginationConfig={"PageSize": 1000},
                )
                async for page in pages:
                    for reservation in page.get("Reservations", []):
                        for inst in reservation.get("Instances", []):
                            found.ec2[inst["InstanceId"]] = inst
            except _EC2_FAILURES as exc:  # the SSM rows still list, without EC2 detail
                found.ec2_error = found.ec2_error or exc

    @staticmethod
    async def _read_tags(
        ssm: Any, node_id: str, out: dict[str, dict[str, str]], slots: asyncio.Semaphore
    ) -> None:
        async with slots:
            try:
                reply = await ssm.list_tags_for_resource(
                    ResourceType="ManagedInstance", ResourceId=node_id
                )
            except bce.ClientError as exc:
                code = _error_code(exc)
                if code in DENIED_CODES or code == "InvalidResourceId":
                    return  # deregistered meanwhile or not allowed: keep the SSM row
                raise
        out[node_id] = {t["Key"]: t.get("Value", "") for t in reply.get("TagList", [])}

    @staticmethod
    def _instance(
        scope: Scope,
        account_id: str,
        label: str,
        info: dict[str, Any],
        ec2_details: dict[str, dict[str, Any]],
        mi_tags: dict[str, dict[str, str]],
        known: dict[str, tuple[dict[str, str], str]],
    ) -> Instance:
        node_id = info["InstanceId"]
        ec2 = ec2_details.get(node_id, {})
        if node_id in known:  # this listing's EC2 tags, else (EC2 failed) an earlier listing's
            tags, instance_type = known[node_id]
        else:
            tags, instance_type = mi_tags.get(node_id, {}), ""
        computer_name = info.get("ComputerName", "") or ""
        last_ping = info.get("LastPingDateTime")
        return Instance(
            profile=scope.profile,
            account_id=account_id,
            region=scope.region,
            instance_id=node_id,
            name=_name_of(tags, computer_name, node_id),
            ping_status=info.get("PingStatus", "") or "",
            platform_type=info.get("PlatformType", "") or "",
            platform_name=info.get("PlatformName", "") or "",
            agent_version=info.get("AgentVersion", "") or "",
            ip_address=ec2.get("PrivateIpAddress") or info.get("IPAddress", "") or "",
            computer_name=computer_name,
            resource_type=info.get("ResourceType", "") or "",
            last_ping=last_ping if isinstance(last_ping, datetime) else None,
            instance_state=(ec2.get("State") or {}).get("Name", ""),
            instance_type=instance_type,
            tags=tags,
            account_label=label,
            image_id=ec2.get("ImageId", "") or "",
            vpc_id=ec2.get("VpcId", "") or "",
            subnet_id=ec2.get("SubnetId", "") or "",
            iam_role=(ec2.get("IamInstanceProfile") or {}).get("Arn", "")
            or info.get("IamRole", "")
            or "",
        )


def failed(scope: Scope, error: ScopeError) -> ScopeResult:
    """A result that only carries an error (for callers that fail before listing)."""
    return ScopeResult(scope, error=error, fetched_at=datetime.now(UTC))
