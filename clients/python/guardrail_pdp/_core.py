"""What the sync and asyncio clients share: options, requests and their keys, the decision cache
and its revision rule, health messages, errors. No I/O here."""

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import grpc
from google.protobuf import json_format

from guardrail_pdp._gen.guardrail.pdp.v1 import context_pb2, pipeline_pb2, resolve_pb2, watch_pb2

SERVICE = "guardrail.pdp.v1.DecisionService"
RESOLVE = f"/{SERVICE}/Resolve"
EXECUTE_PIPELINE = f"/{SERVICE}/ExecutePipeline"
WATCH = f"/{SERVICE}/Watch"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"

ADDRESS_ENV = "GUARDRAIL_PDP_ADDRESS"
"""Names the sidecar's address in every app container of an injected pod: unix:///path or host:port."""
DEFAULT_ADDRESS = "unix:///var/run/guardrail-pdp/pdp.sock"
"""The injected sidecar's socket: the address when neither the options nor ADDRESS_ENV give one."""
_ADDRESS = re.compile(r"(\[[0-9a-fA-F:.]+\]|[^:/\[\]\s]+):\d{1,5}|unix:.+")

FAIL_CLOSED = "closed"
FAIL_STALE = "stale"


class PdpError(Exception):
    """The one error the clients raise: no answer could be had (a decision, even a block, is never
    an error). `code` is the gRPC status (a grpc.StatusCode), `code_name` its name, `details` the
    server's message."""

    def __init__(self, code: grpc.StatusCode, details: str):
        self.code = code
        self.code_name = code.name
        self.details = details
        super().__init__(f"{code.name}: {details}")

    @classmethod
    def from_rpc(cls, e: Exception) -> "PdpError":
        if isinstance(e, PdpError):
            return e
        code = e.code() if isinstance(e, grpc.RpcError) and hasattr(e, "code") else None
        if isinstance(code, grpc.StatusCode):
            return cls(code, e.details() or "")  # type: ignore[attr-defined]
        return cls(grpc.StatusCode.UNKNOWN, str(e))


def invalid(message: str) -> PdpError:
    return PdpError(grpc.StatusCode.INVALID_ARGUMENT, message)


@dataclass(frozen=True)
class Tls:
    """TLS for the connection: PEM contents (bytes). Without `ca`, the system's root CAs are
    trusted; `cert` and `key` are a client certificate for a sidecar that requires mTLS;
    `server_name` is the name to check the server's certificate against, when it differs from the
    address's host."""

    ca: Optional[bytes] = None
    cert: Optional[bytes] = None
    key: Optional[bytes] = None
    server_name: Optional[str] = None


@dataclass(frozen=True)
class CacheOptions:
    """Bounds of the decision cache: at most `max_entries` answers and `max_bytes` estimated bytes."""

    max_entries: int = 10_000
    max_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    target: str
    credentials: Optional[grpc.ChannelCredentials]
    channel_options: Tuple[Tuple[str, Any], ...]
    timeout: float
    fail_mode: str
    cache: Optional[CacheOptions]
    reconnect_initial: float
    reconnect_max: float


def bind_methods(channel: Any) -> Tuple[Any, Any, Any, Any]:
    """The four calls both clients make, bound to a channel (grpc or grpc.aio: the same API):
    Resolve (answering the response and its size), ExecutePipeline, Watch and the health check."""
    resolve = channel.unary_unary(RESOLVE, request_serializer=resolve_pb2.ResolveRequest.SerializeToString, response_deserializer=sized_resolve_response)
    execute = channel.unary_unary(
        EXECUTE_PIPELINE,
        request_serializer=pipeline_pb2.ExecutePipelineRequest.SerializeToString,
        response_deserializer=pipeline_pb2.ExecutePipelineResponse.FromString,
    )
    watch = channel.unary_stream(WATCH, request_serializer=watch_pb2.WatchRequest.SerializeToString, response_deserializer=watch_pb2.WatchEvent.FromString)
    health = channel.unary_unary(HEALTH_CHECK, request_serializer=encode_health_request, response_deserializer=decode_health_status)
    return resolve, execute, watch, health


def settings(
    address: Optional[str],
    socket_path: Optional[str],
    tls: Union[Tls, bool, None],
    timeout: float,
    fail_mode: str,
    cache: Union[CacheOptions, bool],
    reconnect_initial: float,
    reconnect_max: float,
    channel_options: Sequence[Tuple[str, Any]],
) -> Settings:
    """Checks the options (every problem at once, as INVALID_ARGUMENT) and applies the defaults.
    With neither address nor socket_path: $GUARDRAIL_PDP_ADDRESS, else DEFAULT_ADDRESS."""
    problems = []
    if address is not None and socket_path is not None:
        problems.append("give one of address or socket_path, not both")
    named = "address"
    if address is None and socket_path is None:
        address = os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS
        named = f"{ADDRESS_ENV} (no address given)"
    if address is not None and not _ADDRESS.fullmatch(str(address)):
        problems.append(f"{named} {address!r} is not host:port, [ipv6]:port or unix:///path")
    if socket_path is not None and not socket_path.startswith("/"):
        problems.append(f"socket_path {socket_path!r} must be an absolute path")
    for name, value in (("timeout", timeout), ("reconnect_initial", reconnect_initial), ("reconnect_max", reconnect_max)):
        if not isinstance(value, (int, float)) or value <= 0:
            problems.append(f"{name} must be a number of seconds above 0")
    if fail_mode not in (FAIL_CLOSED, FAIL_STALE):
        problems.append(f"fail_mode {fail_mode!r} is not 'closed' or 'stale'")
    if cache is True:
        cache = CacheOptions()
    if isinstance(cache, CacheOptions) and (cache.max_entries < 1 or cache.max_bytes < 1):
        problems.append("cache bounds must be above 0")
    if problems:
        raise invalid("guardrail_pdp client: " + "; ".join(problems))
    options = list(channel_options)
    credentials = None
    if tls:
        t = Tls() if tls is True else tls
        credentials = grpc.ssl_channel_credentials(root_certificates=t.ca, private_key=t.key, certificate_chain=t.cert)
        if t.server_name is not None:
            options += [("grpc.ssl_target_name_override", t.server_name), ("grpc.default_authority", t.server_name)]
    target = f"unix://{socket_path}" if socket_path is not None else str(address)
    return Settings(
        target=target,
        credentials=credentials,
        channel_options=tuple(options),
        timeout=float(timeout),
        fail_mode=fail_mode,
        cache=cache if isinstance(cache, CacheOptions) else None,
        reconnect_initial=float(reconnect_initial),
        reconnect_max=max(float(reconnect_max), float(reconnect_initial)),
    )


# --- Requests ---------------------------------------------------------------------------------

RequestKey = Tuple[Optional[str], Optional[str], Optional[str], Tuple[str, ...], Tuple[str, ...], Tuple[str, ...], Tuple[str, ...]]

_CONTEXT_FIELDS = {"team_alias": 0, "teamAlias": 0, "key_alias": 1, "keyAlias": 1, "model": 2, "tags": 3}
_REQUEST_FIELDS = {
    "context": -1,
    "request_policies": 4,
    "requestPolicies": 4,
    "key_policies": 5,
    "keyPolicies": 5,
    "team_policies": 6,
    "teamPolicies": 6,
}


def request_key(request: Union[Mapping[str, Any], resolve_pb2.ResolveRequest]) -> RequestKey:
    """The canonical form of a Resolve request, which is also its cache key: every field Resolve
    reads, a missing context value (None) kept apart from an empty one (""), lists in their order.
    Takes a ResolveRequest or a dict in proto3 JSON form (snake_case or lowerCamelCase names);
    an unknown field or a value of the wrong type is INVALID_ARGUMENT."""
    if isinstance(request, resolve_pb2.ResolveRequest):
        c = request.context
        has = request.HasField("context")
        return (
            c.team_alias if has and c.HasField("team_alias") else None,
            c.key_alias if has and c.HasField("key_alias") else None,
            c.model if has and c.HasField("model") else None,
            tuple(c.tags),
            tuple(request.request_policies),
            tuple(request.key_policies),
            tuple(request.team_policies),
        )
    if not isinstance(request, Mapping):
        raise invalid(f"a Resolve request is a dict or a ResolveRequest, not {type(request).__name__}")
    parts: List[Any] = [None, None, None, (), (), (), ()]
    for name, value in request.items():
        index = _REQUEST_FIELDS.get(name)
        if index is None:
            raise invalid(f"request has unknown field {name!r}; expected context, request_policies, key_policies, team_policies")
        if index == -1:
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise invalid("request.context must be a dict")
            for cname, cvalue in value.items():
                cindex = _CONTEXT_FIELDS.get(cname)
                if cindex is None:
                    raise invalid(f"request.context has unknown field {cname!r}; expected team_alias, key_alias, model, tags")
                parts[cindex] = _strings(cvalue, f"request.context.{cname}") if cindex == 3 else _string(cvalue, f"request.context.{cname}")
        else:
            parts[index] = _strings(value, f"request.{name}")
    return tuple(parts)  # type: ignore[return-value]


def _string(v: Any, where: str) -> Optional[str]:
    if v is None or isinstance(v, str):
        return v
    raise invalid(f"{where} must be a string")


def _strings(v: Any, where: str) -> Tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, (str, bytes)) or not isinstance(v, Iterable) or not all(isinstance(x, str) for x in v):
        raise invalid(f"{where} must be a list of strings")
    return tuple(v)


def request_from_key(key: RequestKey) -> resolve_pb2.ResolveRequest:
    team, key_alias, model, tags, request_policies, key_policies, team_policies = key
    context = context_pb2.RequestContext(tags=tags)
    if team is not None:
        context.team_alias = team
    if key_alias is not None:
        context.key_alias = key_alias
    if model is not None:
        context.model = model
    return resolve_pb2.ResolveRequest(
        context=context, request_policies=request_policies, key_policies=key_policies, team_policies=team_policies
    )


def pipeline_request(request: Union[Mapping[str, Any], pipeline_pb2.ExecutePipelineRequest]) -> pipeline_pb2.ExecutePipelineRequest:
    """An ExecutePipelineRequest from itself or from a dict in proto3 JSON form (unknown fields are INVALID_ARGUMENT)."""
    if isinstance(request, pipeline_pb2.ExecutePipelineRequest):
        return request
    if not isinstance(request, Mapping):
        raise invalid(f"an ExecutePipeline request is a dict or an ExecutePipelineRequest, not {type(request).__name__}")
    try:
        return json_format.ParseDict(request, pipeline_pb2.ExecutePipelineRequest())
    except json_format.ParseError as e:
        raise invalid(f"request: {e}") from None


# --- Answers and the cache -------------------------------------------------------------------


class Resolved:
    """A Resolve answer: the ResolveResponse (`response`; its fields are also readable on this
    object: `result.guardrails`, `result.revision`...) and `stale`, True only for a cached answer
    given because the sidecar could not answer (fail_mode 'stale'). The cache shares answers
    between callers: read them, never modify them."""

    __slots__ = ("response", "stale")

    def __init__(self, response: resolve_pb2.ResolveResponse, stale: bool):
        self.response = response
        self.stale = stale

    def __getattr__(self, name: str) -> Any:
        return getattr(self.response, name)

    def to_dict(self) -> Dict[str, Any]:
        """The answer in proto3 JSON form (lowerCamelCase, as grpcurl and the CLI print it)."""
        return json_format.MessageToDict(self.response)

    def __repr__(self) -> str:
        return f"Resolved(revision={self.response.revision!r}, guardrails={list(self.response.guardrails)!r}, stale={self.stale})"


def sized_resolve_response(data: bytes) -> Tuple[resolve_pb2.ResolveResponse, int]:
    return resolve_pb2.ResolveResponse.FromString(data), len(data)


# A cached answer is counted as 640 bytes plus 8 per byte of its encoding, plus its key: above what
# the process's memory grows by per answer (measured in clients/python/tests/test_generated.py).
ENTRY_OVERHEAD_BYTES = 640
HEAP_PER_WIRE_BYTE = 8


def key_bytes(key: RequestKey) -> int:
    return 56 * 7 + sum(len(p) + 49 if isinstance(p, str) else 56 + sum(len(s) + 57 for s in p) for p in key if p is not None)


@dataclass(frozen=True)
class Stats:
    """What a client has done so far (see docs/clients.md): `hits` (no RPC), `misses` (an RPC),
    `stale_answers`, `retries` (a reload raced the answer), the cache's `entries` and estimated
    `bytes`, whether its Watch stream is up (`watching`) and the last revision it announced."""

    hits: int
    misses: int
    stale_answers: int
    retries: int
    entries: int
    bytes: int
    watching: bool
    revision: str


class CacheState:
    """The decision cache and what the Watch stream told it, behind one lock (the sync client's
    watch thread and callers share it).

    Answers are keyed by canonical request and tagged with their revision. `up` is True from the
    first ACTIVATED event of a stream until the stream fails or ends; while it is False, `get`
    answers nothing and `put` keeps nothing. `epoch` counts ACTIVATED events: an answer to a call
    that started at an earlier epoch is accepted only if it carries the current revision (it may
    come from the snapshot before the last event otherwise)."""

    def __init__(self, options: CacheOptions, keep_stale: bool):
        self._lock = threading.Lock()
        self._entries: "OrderedDict[RequestKey, Tuple[str, Resolved, int, List[Optional[Resolved]]]]" = OrderedDict()
        self._max_entries = options.max_entries
        self._max_bytes = options.max_bytes
        self._keep_stale = keep_stale
        self.bytes = 0
        self.up = False
        self.revision = ""
        self.epoch = 0

    def activated(self, revision: str) -> None:
        with self._lock:
            self.revision = revision
            self.epoch += 1
            self.up = True
            if not self._keep_stale:
                for key in [k for k, e in self._entries.items() if e[0] != revision]:
                    self._remove(key)

    def down(self) -> None:
        with self._lock:
            self.up = False

    def get(self, key: RequestKey) -> Optional[Resolved]:
        with self._lock:
            if not self.up:
                return None
            entry = self._entries.get(key)
            if entry is None or entry[0] != self.revision:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def accepts(self, epoch: int, revision: str) -> bool:
        """Whether an answer from `revision` to a call started at `epoch` may be returned."""
        with self._lock:
            return self.epoch == epoch or revision == self.revision

    def put(self, key: RequestKey, result: Resolved, wire_bytes: int) -> None:
        revision = result.response.revision
        size = key_bytes(key) + HEAP_PER_WIRE_BYTE * wire_bytes + ENTRY_OVERHEAD_BYTES
        with self._lock:
            if not self.up or revision != self.revision:
                return
            self._remove(key)
            if size > self._max_bytes:
                return
            self._entries[key] = (revision, result, size, [None])
            self.bytes += size
            while len(self._entries) > self._max_entries or self.bytes > self._max_bytes:
                _, (_, _, oldest_size, _) = self._entries.popitem(last=False)
                self.bytes -= oldest_size

    def stale(self, key: RequestKey) -> Optional[Resolved]:
        """The last answer kept for `key`, whatever its revision, marked stale."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            box = entry[3]
            if box[0] is None:
                box[0] = Resolved(entry[1].response, True)
            return box[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    @property
    def size(self) -> int:
        return len(self._entries)

    def _remove(self, key: RequestKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry[2]


class Counters:
    __slots__ = ("hits", "misses", "stale_answers", "retries")

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.stale_answers = 0
        self.retries = 0

    def stats(self, state: Optional[CacheState]) -> Stats:
        return Stats(
            hits=self.hits,
            misses=self.misses,
            stale_answers=self.stale_answers,
            retries=self.retries,
            entries=state.size if state else 0,
            bytes=state.bytes if state else 0,
            watching=state.up if state else False,
            revision=state.revision if state else "",
        )


# --- grpc.health.v1, encoded by hand -----------------------------------------------------------
# Generating health stubs would register grpc.health.v1 messages in protobuf's default pool, where
# they would clash with grpcio-health-checking's in a process that has both.

SERVING = 1
HEALTH_STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def encode_health_request(service: str) -> bytes:
    data = service.encode()
    return b"\x0a" + _varint(len(data)) + data if data else b""


def decode_health_status(data: bytes) -> int:
    """The `status` (field 1) of a HealthCheckResponse; 0 (UNKNOWN) when absent."""
    i = 0
    status = 0
    while i < len(data):
        tag, i = _read_varint(data, i)
        wire = tag & 7
        if wire == 0:
            value, i = _read_varint(data, i)
            if tag >> 3 == 1:
                status = value
        elif wire == 2:
            length, i = _read_varint(data, i)
            i += length
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            break
    return status


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes, i: int) -> Tuple[int, int]:
    shift = 0
    value = 0
    while i < len(data):
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return value, i
