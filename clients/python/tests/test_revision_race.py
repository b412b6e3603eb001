"""The cache's revision rule against a scripted server, where the test decides when each answer and
each Watch event goes out, so the race a real reload only makes likely happens every time: an
answer from revision R-1 arriving after the event for R."""

import queue
import threading
from concurrent import futures

import grpc
import pytest

from guardrail_pdp import Client, pb
from sidecar import wait_until


class ScriptedServer:
    def __init__(self):
        self.held = queue.Queue()  # (request, release(revision))
        self.events = queue.Queue()
        self.watch_open = threading.Event()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handlers = {
            "Resolve": grpc.unary_unary_rpc_method_handler(
                self._resolve, request_deserializer=pb.ResolveRequest.FromString, response_serializer=pb.ResolveResponse.SerializeToString
            ),
            "Watch": grpc.unary_stream_rpc_method_handler(
                self._watch, request_deserializer=pb.WatchRequest.FromString, response_serializer=pb.WatchEvent.SerializeToString
            ),
        }
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("guardrail.pdp.v1.DecisionService", handlers),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def _resolve(self, request, context):
        answer = queue.Queue()
        self.held.put((request, answer.put))
        revision = answer.get(timeout=10)
        return pb.ResolveResponse(guardrails=[f"from-{revision}"], revision=revision)

    def _watch(self, request, context):
        self.watch_open.set()
        while context.is_active():
            try:
                event = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            if event is None:
                context.abort(grpc.StatusCode.UNAVAILABLE, "scripted failure")
            yield event

    def activate(self, revision):
        self.events.put(pb.WatchEvent(kind=pb.WatchEvent.ACTIVATED, revision=revision))

    def next_held(self):
        return self.held.get(timeout=5)


@pytest.fixture
def scripted():
    server = ScriptedServer()
    client = Client(f"127.0.0.1:{server.port}", timeout=5, reconnect_initial=0.02, reconnect_max=0.1)
    assert server.watch_open.wait(5)
    server.activate("r1")
    wait_until(lambda: client.stats().revision == "r1", what="r1 to reach the client")
    yield server, client
    client.close()
    server.server.stop(0)


def resolve_in_background(client, request):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("answer", client.resolve(request)))
    thread.start()
    return thread, result


def test_an_older_answer_after_the_event_is_neither_returned_nor_cached(scripted):
    server, client = scripted
    thread, result = resolve_in_background(client, {"context": {"model": "m"}})
    request, release = server.next_held()
    server.activate("r2")
    wait_until(lambda: client.stats().revision == "r2", what="r2 to reach the client")
    release("r1")
    retry, release_retry = server.next_held()
    assert retry.context.model == "m"
    release_retry("r2")
    thread.join(5)
    assert result["answer"].revision == "r2"
    assert (client.stats().retries, client.stats().entries) == (1, 1)
    assert client.resolve({"context": {"model": "m"}}) is result["answer"]


def test_an_answer_from_a_revision_not_yet_announced_is_returned_not_cached(scripted):
    server, client = scripted
    thread, result = resolve_in_background(client, {})
    server.next_held()[1]("r3")
    thread.join(5)
    assert result["answer"].revision == "r3"
    assert client.stats().entries == 0


def test_activation_drops_the_previous_revision_and_a_down_stream_bypasses_the_cache(scripted):
    server, client = scripted
    thread, _ = resolve_in_background(client, {})
    server.next_held()[1]("r1")
    thread.join(5)
    assert client.resolve({}).revision == "r1"
    assert client.stats().hits == 1
    server.activate("r2")
    wait_until(lambda: client.stats().entries == 0, what="r1's answers to go")
    thread, _ = resolve_in_background(client, {})
    server.next_held()[1]("r2")
    thread.join(5)
    server.watch_open.clear()
    server.events.put(None)  # the stream fails
    wait_until(lambda: not client.stats().watching, what="the stream to be down")
    thread, result = resolve_in_background(client, {})
    server.next_held()[1]("r2")  # an RPC although r2's answer is cached
    thread.join(5)
    assert result["answer"].revision == "r2"
    assert server.watch_open.wait(5)  # reopened
    server.activate("r2")
    wait_until(lambda: client.stats().watching, what="the stream to be up")
    hits = client.stats().hits
    client.resolve({})
    assert client.stats().hits == hits + 1
