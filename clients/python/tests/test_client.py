"""guardrail_pdp.Client against the real sidecar (node dist/cli/main.js serve)."""

import json
import os
import threading
import time

import grpc
import pytest

from guardrail_pdp import DEFAULT_ADDRESS, CacheOptions, Client, PdpError, Tls, pb
from sidecar import EXAMPLE, TLS, bundle, cli, wait_until, write_atomically

HEALTH_TEAM = {"context": {"team_alias": "health-team", "model": "gpt-4"}}
SECRET = {"policy_name": "gpt4-pipeline", "messages": [{"role": "user", "content": "deploy with AKIAIOSFODNN7EXAMPLE"}]}


@pytest.fixture
def clients():
    made = []

    def make(*args, **kwargs):
        c = Client(*args, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_resolve_answers_as_the_offline_cli_and_repeats_from_the_cache_without_an_rpc(example_sidecar, clients):
    c = clients(example_sidecar.address)
    c.ready()
    first = c.resolve(HEALTH_TEAM)
    offline = json.loads(cli("resolve", "--bundle", EXAMPLE, "--context", json.dumps(HEALTH_TEAM["context"])).stdout)
    assert first.to_dict() == offline
    assert list(first.guardrails) == ["hipaa_audit", "pii_masking", "prompt_injection"]
    assert first.headers["x-litellm-policy-sources"].startswith("global-baseline=scope:*")
    assert first.stale is False
    rpcs = example_sidecar.resolve_rpcs()
    again = c.resolve(pb.ResolveRequest(context=pb.RequestContext(model="gpt-4", team_alias="health-team")))
    assert again is first
    time.sleep(0.2)
    assert example_sidecar.resolve_rpcs() == rpcs
    stats = c.stats()
    assert (stats.hits, stats.misses, stats.entries, stats.watching, stats.revision) == (1, 1, 1, True, first.revision)


def test_a_missing_context_value_is_not_an_empty_one(example_sidecar, clients):
    c = clients(example_sidecar.address)
    c.ready()
    c.resolve({"context": {"team_alias": "health-team"}})
    c.resolve({"context": {"teamAlias": "health-team", "model": ""}})
    c.resolve({"context": {"team_alias": "health-team", "model": None}})
    assert (c.stats().hits, c.stats().misses) == (1, 2)


def test_bad_input_is_invalid_argument_before_any_rpc(example_sidecar, clients):
    c = clients(example_sidecar.address)
    with pytest.raises(PdpError) as e:
        c.resolve({"context": {"team": "x"}})
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown field 'team'" in e.value.details
    with pytest.raises(PdpError) as e:
        c.resolve({"request_policies": "strict-mode"})
    assert "must be a list of strings" in e.value.details
    with pytest.raises(PdpError) as e:
        c.resolve({"request_policies": [""]})  # refused by the server
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "request_policies[0] is empty" in e.value.details


def test_the_cache_is_bounded_by_entries_and_bytes(example_sidecar, clients):
    c = clients(example_sidecar.address, cache=CacheOptions(max_entries=2))
    c.ready()
    for model in ["a", "b", "a", "c", "a", "b"]:
        c.resolve({"context": {"model": model}})
    assert (c.stats().entries, c.stats().hits, c.stats().misses) == (2, 2, 4)
    small = clients(example_sidecar.address, cache=CacheOptions(max_bytes=4000))
    small.ready()
    small.resolve({})  # ~250 bytes on the wire: kept
    small.resolve(HEALTH_TEAM)  # ~700 bytes on the wire: counted above the bound
    assert small.stats().entries == 1
    assert small.stats().bytes <= 4000


def test_revision_guarantee_across_real_reloads(tmp_dir, start_sidecar, clients):
    path = os.path.join(tmp_dir, "bundle.yaml")
    write_atomically(path, bundle("v0"))
    sidecar = start_sidecar(path)
    c = clients(sidecar.address, timeout=5)
    c.ready()
    seen = []  # (answered version, revision known to the client when the answer was returned)
    done = threading.Event()
    errors = []

    def load(worker):
        i = worker
        while not done.is_set():
            try:
                r = c.resolve({"context": {"team_alias": f"team-{i % 10}"}})
                seen.append((int(r.guardrails[0][1:]), c.stats().revision))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)
            i += 1

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for v in range(1, 7):
        time.sleep(0.05)
        write_atomically(path, bundle(f"v{v}"))
        sidecar.wait_for(lambda r, n=v + 1: r.get("msg") == "snapshot activated" and len(sidecar.activations()) == n, what=f"v{v}")
        wait_until(lambda: c.stats().revision == sidecar.activations()[-1], what=f"the event for v{v}")
    done.set()
    for t in threads:
        t.join()
    assert errors == []
    version_of = {revision: n for n, revision in enumerate(sidecar.activations())}
    late = [(answered, version_of[known]) for answered, known in seen if answered < version_of[known]]
    assert late == []
    assert len(seen) > 50
    assert list(c.resolve({"context": {"team_alias": "team-0"}}).guardrails) == ["v6"]
    assert c.stats().hits > 0


def test_fail_mode_closed_raises_with_the_grpc_code(tmp_dir, start_sidecar, clients):
    sidecar = start_sidecar(EXAMPLE)
    c = clients(sidecar.address, timeout=2)
    c.ready()
    c.resolve({})
    sidecar.stop()
    with pytest.raises(PdpError) as e:
        c.resolve({})
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert e.value.code_name == "UNAVAILABLE"
    assert c.stats().watching is False


def test_fail_mode_stale_answers_the_last_cached_answer_marked_stale(start_sidecar, clients):
    sidecar = start_sidecar(EXAMPLE)
    c = clients(sidecar.address, timeout=2, fail_mode="stale")
    c.ready()
    fresh = c.resolve(HEALTH_TEAM)
    sidecar.stop()
    stale = c.resolve(HEALTH_TEAM)
    assert stale.stale is True
    assert stale.response == fresh.response
    with pytest.raises(PdpError) as e:
        c.resolve({"context": {"model": "never-asked"}})
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    assert c.stats().stale_answers == 1


def test_unix_socket_bypass_while_down_and_reconnect(tmp_dir, start_sidecar, clients):
    socket = os.path.join(tmp_dir, "pdp.sock")
    first = start_sidecar(EXAMPLE, listen=f"unix://{socket}")
    c = clients(socket_path=socket, reconnect_initial=0.02, reconnect_max=0.2, timeout=2)
    c.ready()
    c.resolve({})
    c.resolve({})
    assert c.stats().hits == 1
    first.stop()
    wait_until(lambda: not c.stats().watching, what="the Watch stream to go down")
    with pytest.raises(PdpError):
        c.resolve({})  # bypassed: an RPC, which fails
    start_sidecar(EXAMPLE, listen=f"unix://{socket}")
    c.ready(timeout=10)
    hits = c.stats().hits
    c.resolve({})
    assert c.stats().hits == hits + 1


def test_ready_times_out_naming_the_address_and_the_last_status(clients):
    c = clients("127.0.0.1:1")
    with pytest.raises(PdpError) as e:
        c.ready(timeout=0.3)
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "the sidecar at 127.0.0.1:1 was not ready within 0.3 s (last: " in e.value.details


def test_without_an_address_it_dials_guardrail_pdp_address(tmp_dir, start_sidecar, clients, monkeypatch):
    socket = os.path.join(tmp_dir, "pdp.sock")
    start_sidecar(EXAMPLE, listen=f"unix://{socket}")
    monkeypatch.setenv("GUARDRAIL_PDP_ADDRESS", f"unix://{socket}")
    c = clients(timeout=2)
    c.ready()
    assert list(c.resolve(HEALTH_TEAM).guardrails) == ["hipaa_audit", "pii_masking", "prompt_injection"]


def test_without_an_address_or_the_variable_it_dials_the_injected_sidecars_socket(clients, monkeypatch):
    monkeypatch.delenv("GUARDRAIL_PDP_ADDRESS", raising=False)
    assert DEFAULT_ADDRESS == "unix:///var/run/guardrail-pdp/pdp.sock"
    with pytest.raises(PdpError) as e:
        clients().ready(timeout=0.2)
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert f"the sidecar at {DEFAULT_ADDRESS} was not ready" in e.value.details
    monkeypatch.setenv("GUARDRAIL_PDP_ADDRESS", "pdp.sock")
    with pytest.raises(PdpError) as e:
        Client()
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details == (
        "guardrail_pdp client: GUARDRAIL_PDP_ADDRESS (no address given) 'pdp.sock' is not host:port, [ipv6]:port or unix:///path"
    )


def test_options_are_checked(clients):
    with pytest.raises(PdpError) as e:
        Client("127.0.0.1:1", socket_path="/x", fail_mode="open", timeout=0)
    assert e.value.details == (
        "guardrail_pdp client: give one of address or socket_path, not both; timeout must be a number of seconds above 0; "
        "fail_mode 'open' is not 'closed' or 'stale'"
    )


def test_execute_pipeline(example_sidecar, clients):
    c = clients(example_sidecar.address, cache=False)
    answer = c.execute_pipeline(SECRET)
    assert answer.terminal_action == pb.BLOCK
    assert answer.error_message == "Content blocked: aws_access_key pattern detected"
    with pytest.raises(PdpError) as e:
        c.execute_pipeline({**SECRET, "policy_name": "nope"})
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(PdpError) as e:
        c.execute_pipeline({**SECRET, "prompt": "x"})
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_watch_yields_the_current_snapshot_then_each_activation(tmp_dir, start_sidecar, clients):
    path = os.path.join(tmp_dir, "bundle.yaml")
    write_atomically(path, bundle("g1"))
    sidecar = start_sidecar(path)
    c = clients(sidecar.address, cache=False)
    events = c.watch()
    first = next(events)
    assert (first.kind, first.revision, first.origin) == (pb.WatchEvent.ACTIVATED, sidecar.activations()[0], path)
    write_atomically(path, bundle("g2"))
    second = next(events)
    assert second.kind == pb.WatchEvent.ACTIVATED
    assert second.revision != first.revision
    events.close()


def test_tls_and_mtls(start_sidecar, clients):
    def read(name):
        with open(os.path.join(TLS, name), "rb") as f:
            return f.read()

    tls_args = ["--tls-cert", os.path.join(TLS, "server.pem"), "--tls-key", os.path.join(TLS, "server.key")]
    sidecar = start_sidecar(EXAMPLE, extra_args=[*tls_args, "--tls-client-ca", os.path.join(TLS, "ca.pem")])
    port = sidecar.address.rsplit(":", 1)[1]
    c = clients(f"localhost:{port}", tls=Tls(ca=read("ca.pem"), cert=read("client.pem"), key=read("client.key")))
    c.ready()
    assert list(c.resolve({}).applied_policies) == ["global-baseline"]
    no_cert = clients(f"localhost:{port}", tls=Tls(ca=read("ca.pem")), cache=False)
    with pytest.raises(PdpError) as e:
        no_cert.resolve({})
    assert e.value.code == grpc.StatusCode.UNAVAILABLE
    by_ip = clients(f"127.0.0.1:{port}", tls=Tls(ca=read("ca.pem"), cert=read("client.pem"), key=read("client.key"), server_name="localhost"), cache=False)
    assert by_ip.resolve({}).revision == c.stats().revision
