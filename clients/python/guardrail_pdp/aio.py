"""The asyncio client: grpc.aio, and a task holding the cache's Watch stream. Same behaviour as
guardrail_pdp.Client; see its docstring."""

import asyncio
import random
from typing import Any, AsyncIterator, Optional, Sequence, Tuple, Union

import grpc
from grpc import aio

from guardrail_pdp import _core
from guardrail_pdp._core import CacheOptions, PdpError, Resolved, Stats, Tls
from guardrail_pdp._gen.guardrail.pdp.v1 import pipeline_pb2, resolve_pb2, watch_pb2
from guardrail_pdp.client import PipelineInput, ResolveInput


class AsyncClient:
    """The asyncio form of guardrail_pdp.Client, with the same options (timeouts in seconds).

    It may be created outside an event loop (as a LiteLLM callback is, at import): the channel and
    the Watch task start with the first call, in the loop that makes it, and belong to that loop.
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
        self._settings = _core.settings(address, socket_path, tls, timeout, fail_mode, cache, reconnect_initial, reconnect_max, channel_options)
        self._counters = _core.Counters()
        s = self._settings
        self._state = _core.CacheState(s.cache, keep_stale=s.fail_mode == _core.FAIL_STALE) if s.cache is not None else None
        self._channel: Optional[aio.Channel] = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._up: Optional[asyncio.Event] = None
        self._closed = False

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _start(self) -> aio.Channel:
        if self._closed:
            raise PdpError(grpc.StatusCode.CANCELLED, "the client is closed")
        if self._channel is None:
            s = self._settings
            options = list(s.channel_options)
            if s.credentials is None:
                self._channel = aio.insecure_channel(s.target, options=options)
            else:
                self._channel = aio.secure_channel(s.target, s.credentials, options=options)
            self._resolve, self._execute, self._watch, self._health = _core.bind_methods(self._channel)
            if self._state is not None:
                self._up = asyncio.Event()
                self._task = asyncio.get_running_loop().create_task(self._watch_loop(), name="guardrail-pdp-watch")
        return self._channel

    async def resolve(self, request: ResolveInput, timeout: Optional[float] = None) -> Resolved:
        """As Client.resolve."""
        self._start()
        key = _core.request_key(request)
        state = self._state
        if state is not None:
            hit = state.get(key)
            if hit is not None:
                self._counters.hits += 1
                return hit
        self._counters.misses += 1
        message = _core.request_from_key(key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._settings.timeout if timeout is None else timeout)
        while True:
            epoch = state.epoch if state is not None else 0
            try:
                response, wire_bytes = await self._resolve(message, timeout=max(0.0, deadline - loop.time()))
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
                continue
            result = Resolved(response, False)
            if state is not None:
                state.put(key, result, wire_bytes)
            return result

    async def execute_pipeline(self, request: PipelineInput, timeout: Optional[float] = None) -> pipeline_pb2.ExecutePipelineResponse:
        """As Client.execute_pipeline."""
        self._start()
        message = _core.pipeline_request(request)
        try:
            return await self._execute(message, timeout=self._settings.timeout if timeout is None else timeout)
        except grpc.RpcError as e:
            raise PdpError.from_rpc(e) from None

    def watch(self, known_revision: str = "") -> AsyncIterator[watch_pb2.WatchEvent]:
        """As Client.watch, as an async iterator; closing it (or leaving an async for) cancels the stream."""
        self._start()
        return self._events(self._watch(watch_pb2.WatchRequest(known_revision=known_revision)))

    async def _events(self, call: Any) -> AsyncIterator[watch_pb2.WatchEvent]:
        try:
            async for event in call:
                yield event
        except grpc.RpcError as e:
            if not (self._closed and e.code() == grpc.StatusCode.CANCELLED):  # type: ignore[attr-defined]
                raise PdpError.from_rpc(e) from None
        finally:
            call.cancel()

    async def ready(self, timeout: float = 5.0) -> None:
        """As Client.ready."""
        self._start()
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        last = "no answer yet"
        while loop.time() < end:
            left = end - loop.time()
            try:
                status = await self._health(_core.SERVICE, timeout=min(left, 1.0), wait_for_ready=True)
                last = _core.HEALTH_STATUS_NAMES.get(status, str(status))
                if status == _core.SERVING:
                    if self._state is None or self._state.up:
                        return
                    last = "SERVING, but the Watch stream is not up yet"
                    assert self._up is not None
                    try:
                        await asyncio.wait_for(self._up.wait(), timeout=max(0.0, end - loop.time()))
                    except asyncio.TimeoutError:
                        pass
                    continue
            except grpc.RpcError as e:
                last = str(PdpError.from_rpc(e))
            await asyncio.sleep(min(0.1, max(0.0, end - loop.time())))
        raise PdpError(grpc.StatusCode.DEADLINE_EXCEEDED, f"the sidecar at {self._settings.target} was not ready within {timeout:g} s (last: {last})")

    def stats(self) -> Stats:
        return self._counters.stats(self._state)

    async def close(self) -> None:
        """Stops the Watch task and closes the channel."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._state is not None:
            self._state.clear()
        if self._channel is not None:
            await self._channel.close()

    async def _watch_loop(self) -> None:
        state = self._state
        assert state is not None and self._up is not None
        delay = self._settings.reconnect_initial
        while not self._closed:
            call = self._watch(watch_pb2.WatchRequest(), wait_for_ready=True)
            try:
                async for event in call:
                    if event.kind == watch_pb2.WatchEvent.ACTIVATED:
                        state.activated(event.revision)
                        self._up.set()
                        delay = self._settings.reconnect_initial
            except grpc.RpcError:
                pass  # down: bypass the cache, reconnect after the backoff
            finally:
                state.down()
                self._up.clear()
                call.cancel()
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, self._settings.reconnect_max)
