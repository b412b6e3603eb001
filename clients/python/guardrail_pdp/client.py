"""The synchronous client: grpcio channels, and a daemon thread holding the cache's Watch stream."""

import random
import threading
import time
from typing import Any, Iterator, Mapping, Optional, Sequence, Tuple, Union

import grpc

from guardrail_pdp import _core
from guardrail_pdp._core import CacheOptions, PdpError, Resolved, Stats, Tls
from guardrail_pdp._gen.guardrail.pdp.v1 import pipeline_pb2, resolve_pb2, watch_pb2

ResolveInput = Union[Mapping[str, Any], resolve_pb2.ResolveRequest]
PipelineInput = Union[Mapping[str, Any], pipeline_pb2.ExecutePipelineRequest]


class Client:
    """A client of one sidecar (docs/clients.md). Give `address` ("host:port") or `socket_path`.

    - `timeout`: each call's deadline in seconds (default 1.0); a call may override it.
    - `fail_mode`: 'closed' (default) raises PdpError when the sidecar cannot answer; 'stale'
      answers a Resolve with the last cached answer for that request, marked stale, if any.
    - `cache`: True (default), False, or CacheOptions(max_entries, max_bytes). With the cache on,
      one background thread holds a Watch stream; answers are dropped on every ACTIVATED event,
      and the cache is bypassed while the stream is down. Once that thread has received the event
      for revision R, no answer older than R is returned (stale answers aside) or cached.
    - `tls`: Tls(...) or True (system roots); plaintext when absent.
    - `reconnect_initial`, `reconnect_max`: the Watch stream's reconnect backoff, in seconds.
    """

    def __init__(
        self,
        address: Optional[str] = None,
        *,
        socket_path: Optional[str] = None,
        tls: Union[Tls, bool, None] = None,
        timeout: float = 1.0,
        fail_mode: str = _core.FAIL_CLOSED,
        cache: Union[CacheOptions, bool] = True,
        reconnect_initial: float = 0.1,
        reconnect_max: float = 5.0,
        channel_options: Sequence[Tuple[str, Any]] = (),
    ):
        s = _core.settings(address, socket_path, tls, timeout, fail_mode, cache, reconnect_initial, reconnect_max, channel_options)
        self._settings = s
        if s.credentials is None:
            self._channel = grpc.insecure_channel(s.target, options=list(s.channel_options))
        else:
            self._channel = grpc.secure_channel(s.target, s.credentials, options=list(s.channel_options))
        self._resolve, self._execute, self._watch, self._health = _core.bind_methods(self._channel)
        self._counters = _core.Counters()
        self._closed = threading.Event()
        self._state: Optional[_core.CacheState] = None
        self._up = threading.Condition()
        self._watch_call: Any = None
        self._thread: Optional[threading.Thread] = None
        if s.cache is not None:
            self._state = _core.CacheState(s.cache, keep_stale=s.fail_mode == _core.FAIL_STALE)
            self._thread = threading.Thread(target=self._watch_loop, name="guardrail-pdp-watch", daemon=True)
            self._thread.start()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def resolve(self, request: ResolveInput, timeout: Optional[float] = None) -> Resolved:
        """Which guardrails and pipelines apply: from the cache when its Watch stream is up and the
        request was answered by the current revision, else one Resolve RPC. Raises PdpError."""
        self._check_open()
        key = _core.request_key(request)
        state = self._state
        if state is not None:
            hit = state.get(key)
            if hit is not None:
                self._counters.hits += 1
                return hit
        self._counters.misses += 1
        message = _core.request_from_key(key)
        deadline = time.monotonic() + (self._settings.timeout if timeout is None else timeout)
        while True:
            epoch = state.epoch if state is not None else 0
            try:
                response, wire_bytes = self._resolve(message, timeout=max(0.0, deadline - time.monotonic()))
            except grpc.RpcError as e:
                error = PdpError.from_rpc(e)
                if state is not None and self._settings.fail_mode == _core.FAIL_STALE and error.code != grpc.StatusCode.INVALID_ARGUMENT:
                    stale = state.stale(key)
                    if stale is not None:
                        self._counters.stale_answers += 1
                        return stale
                raise error from None
            if state is not None and not state.accepts(epoch, response.revision):
                self._counters.retries += 1
                continue  # a reload raced this answer; the next attempt fails if no time is left
            result = Resolved(response, False)
            if state is not None:
                state.put(key, result, wire_bytes)
            return result

    def execute_pipeline(self, request: PipelineInput, timeout: Optional[float] = None) -> pipeline_pb2.ExecutePipelineResponse:
        """Runs a pipeline (never cached). Raises PdpError."""
        self._check_open()
        message = _core.pipeline_request(request)
        try:
            return self._execute(message, timeout=self._settings.timeout if timeout is None else timeout)
        except grpc.RpcError as e:
            raise PdpError.from_rpc(e) from None

    def watch(self, known_revision: str = "") -> Iterator[watch_pb2.WatchEvent]:
        """A Watch stream of its own: the current snapshot, then every activation and failed
        activation, until the server ends it. Raises PdpError if it fails; closing the iterator
        (or leaving a for loop over it) cancels the stream."""
        self._check_open()
        return self._events(self._watch(watch_pb2.WatchRequest(known_revision=known_revision)))

    def _events(self, call: Any) -> Iterator[watch_pb2.WatchEvent]:
        try:
            for event in call:
                yield event
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED or not self._closed.is_set():  # type: ignore[attr-defined]
                raise PdpError.from_rpc(e) from None
        finally:
            call.cancel()

    def ready(self, timeout: float = 5.0) -> None:
        """Returns once the sidecar reports SERVING (grpc.health.v1) and, with the cache on, its
        Watch stream is up; raises PdpError(DEADLINE_EXCEEDED) after `timeout` seconds, naming the
        last status seen."""
        self._check_open()
        end = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < end:
            left = end - time.monotonic()
            try:
                status = self._health(_core.SERVICE, timeout=min(left, 1.0), wait_for_ready=True)
                last = _core.HEALTH_STATUS_NAMES.get(status, str(status))
                if status == _core.SERVING:
                    if self._state is None or self._state.up:
                        return
                    last = "SERVING, but the Watch stream is not up yet"
                    with self._up:
                        self._up.wait_for(lambda: self._state is not None and self._state.up, timeout=max(0.0, end - time.monotonic()))
                    continue
            except grpc.RpcError as e:
                last = str(PdpError.from_rpc(e))
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        raise PdpError(grpc.StatusCode.DEADLINE_EXCEEDED, f"the sidecar at {self._settings.target} was not ready within {timeout:g} s (last: {last})")

    def stats(self) -> Stats:
        return self._counters.stats(self._state)

    def close(self) -> None:
        """Stops the Watch thread and closes the channel."""
        if self._closed.is_set():
            return
        self._closed.set()
        call = self._watch_call
        if call is not None:
            call.cancel()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._state is not None:
            self._state.clear()
        self._channel.close()

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise PdpError(grpc.StatusCode.CANCELLED, "the client is closed")

    def _watch_loop(self) -> None:
        state = self._state
        assert state is not None
        delay = self._settings.reconnect_initial
        while not self._closed.is_set():
            call = self._watch(watch_pb2.WatchRequest(), wait_for_ready=True)
            self._watch_call = call
            if self._closed.is_set():
                call.cancel()
            try:
                for event in call:
                    if event.kind == watch_pb2.WatchEvent.ACTIVATED:
                        state.activated(event.revision)
                        delay = self._settings.reconnect_initial
                        with self._up:
                            self._up.notify_all()
            except grpc.RpcError:
                pass  # down: bypass the cache, reconnect after the backoff
            finally:
                state.down()
            self._closed.wait(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, self._settings.reconnect_max)
