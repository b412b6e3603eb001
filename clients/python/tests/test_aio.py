"""guardrail_pdp.aio.AsyncClient against the real sidecar (no pytest-asyncio: each test runs its own loop)."""

import asyncio
import os

import grpc
import pytest

from guardrail_pdp import PdpError, Tls, pb
from guardrail_pdp.aio import AsyncClient
from sidecar import EXAMPLE, TLS, bundle, write_atomically

HEALTH_TEAM = {"context": {"team_alias": "health-team", "model": "gpt-4"}}


async def eventually(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


def test_resolve_from_the_cache_without_an_rpc(example_sidecar):
    async def run():
        async with AsyncClient(example_sidecar.address) as c:
            await c.ready()
            first = await c.resolve(HEALTH_TEAM)
            rpcs = example_sidecar.resolve_rpcs()
            assert await c.resolve(HEALTH_TEAM) is first
            await asyncio.sleep(0.2)
            assert example_sidecar.resolve_rpcs() == rpcs
            assert (c.stats().hits, c.stats().misses, c.stats().watching) == (1, 1, True)
            assert list(first.applied_policies) == ["global-baseline", "healthcare-compliance", "gpt4-pipeline"]

    asyncio.run(run())


def test_created_outside_a_loop_and_used_inside_one(example_sidecar):
    c = AsyncClient(example_sidecar.address)

    async def run():
        await c.ready()
        assert (await c.resolve({})).revision == c.stats().revision
        await c.close()

    asyncio.run(run())


def test_revision_guarantee_across_real_reloads(tmp_dir, start_sidecar):
    path = os.path.join(tmp_dir, "bundle.yaml")
    write_atomically(path, bundle("v0"))
    sidecar = start_sidecar(path)

    async def run():
        async with AsyncClient(sidecar.address, timeout=5) as c:
            await c.ready()
            seen = []
            done = asyncio.Event()

            async def load(worker):
                i = worker
                while not done.is_set():
                    r = await c.resolve({"context": {"team_alias": f"team-{i % 10}"}})
                    seen.append((int(r.guardrails[0][1:]), c.stats().revision))
                    i += 1
                    await asyncio.sleep(0)

            workers = [asyncio.ensure_future(load(w)) for w in range(4)]
            for v in range(1, 6):
                await asyncio.sleep(0.05)
                write_atomically(path, bundle(f"v{v}"))
                await eventually(lambda n=v + 1: len(sidecar.activations()) == n)
                await eventually(lambda: c.stats().revision == sidecar.activations()[-1])
            done.set()
            await asyncio.gather(*workers)
            version_of = {revision: n for n, revision in enumerate(sidecar.activations())}
            assert [(a, version_of[k]) for a, k in seen if a < version_of[k]] == []
            assert len(seen) > 50
            assert list((await c.resolve({"context": {"team_alias": "team-0"}})).guardrails) == ["v5"]

    asyncio.run(run())


def test_fail_modes(start_sidecar):
    sidecar = start_sidecar(EXAMPLE)

    async def run():
        closed = AsyncClient(sidecar.address, timeout=2)
        stale = AsyncClient(sidecar.address, timeout=2, fail_mode="stale")
        await closed.ready()
        await stale.ready()
        await closed.resolve(HEALTH_TEAM)
        fresh = await stale.resolve(HEALTH_TEAM)
        sidecar.stop()  # blocks this loop: let the Watch tasks see their streams end
        await eventually(lambda: not closed.stats().watching and not stale.stats().watching)
        with pytest.raises(PdpError) as e:
            await closed.resolve(HEALTH_TEAM)
        assert e.value.code == grpc.StatusCode.UNAVAILABLE
        answer = await stale.resolve(HEALTH_TEAM)
        assert answer.stale is True and answer.response == fresh.response
        await closed.close()
        await stale.close()

    asyncio.run(run())


def test_unix_socket_reconnect_watch_and_pipeline(tmp_dir, start_sidecar):
    socket = os.path.join(tmp_dir, "pdp.sock")
    first = start_sidecar(EXAMPLE, listen=f"unix://{socket}")

    async def run():
        async with AsyncClient(socket_path=socket, reconnect_initial=0.02, reconnect_max=0.2, timeout=2) as c:
            await c.ready()
            events = c.watch()
            event = await events.__anext__()
            assert event.kind == pb.WatchEvent.ACTIVATED
            await events.aclose()
            answer = await c.execute_pipeline({"policy_name": "gpt4-pipeline", "messages": [{"role": "user", "content": "AKIAIOSFODNN7EXAMPLE"}]})
            assert answer.terminal_action == pb.BLOCK
            await c.resolve({})
            first.stop()
            await eventually(lambda: not c.stats().watching)
            start_sidecar(EXAMPLE, listen=f"unix://{socket}")
            await c.ready(timeout=10)
            hits = c.stats().hits
            await c.resolve({})
            assert c.stats().hits == hits + 1

    asyncio.run(run())


def test_ready_times_out_and_tls(start_sidecar):
    def read(name):
        with open(os.path.join(TLS, name), "rb") as f:
            return f.read()

    sidecar = start_sidecar(EXAMPLE, extra_args=["--tls-cert", os.path.join(TLS, "server.pem"), "--tls-key", os.path.join(TLS, "server.key")])
    port = sidecar.address.rsplit(":", 1)[1]

    async def run():
        async with AsyncClient("127.0.0.1:1") as nothing:
            with pytest.raises(PdpError) as e:
                await nothing.ready(timeout=0.3)
            assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        async with AsyncClient(f"localhost:{port}", tls=Tls(ca=read("ca.pem"))) as c:
            await c.ready()
            assert list((await c.resolve({})).applied_policies) == ["global-baseline"]

    asyncio.run(run())
