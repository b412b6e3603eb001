"""The committed stubs: generated from proto/ as it is now, loadable by this protobuf runtime; the
hand-encoded health messages; the cache's byte count against the memory it takes."""

import base64
import gc
import os
import re

from google.protobuf import descriptor_pb2

from guardrail_pdp import _core, pb
from guardrail_pdp._gen.guardrail.pdp.v1 import context_pb2, decision_service_pb2, pipeline_pb2, resolve_pb2, watch_pb2
from sidecar import REPO


def test_the_stubs_match_the_protos_as_buf_compiles_them():
    """src/gen/descriptor-set.ts holds buf's compilation of proto/ (CI regenerates it and fails if it
    changed), so stubs that match it match proto/. Regenerate with clients/python/scripts/gen.py."""
    with open(os.path.join(REPO, "src", "gen", "descriptor-set.ts")) as f:
        encoded = "".join(re.findall(r"'([A-Za-z0-9+/=]+)'", f.read()))
    compiled = {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(encoded)).file}
    for module in (context_pb2, pipeline_pb2, resolve_pb2, watch_pb2, decision_service_pb2):
        ours = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        theirs = descriptor_pb2.FileDescriptorProto()
        theirs.CopyFrom(compiled[ours.name])
        theirs.ClearField("source_code_info")
        for message in list(theirs.message_type) + list(ours.message_type):
            _clear_json_names(message)
        assert ours == theirs, f"{ours.name}: the stubs are stale; run clients/python/scripts/gen.py"


def _clear_json_names(message):
    for field in message.field:
        field.ClearField("json_name")
    for nested in message.nested_type:
        _clear_json_names(nested)


def test_health_messages():
    assert _core.encode_health_request("guardrail.pdp.v1.DecisionService") == b"\x0a\x20guardrail.pdp.v1.DecisionService"
    assert _core.encode_health_request("") == b""
    assert _core.decode_health_status(b"\x08\x01") == 1
    assert _core.decode_health_status(b"") == 0
    assert _core.decode_health_status(b"\x12\x02ab\x08\x02") == 2  # an unknown field first


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_the_cache_counts_at_least_the_memory_its_answers_take():
    """The byte bound counts an estimate (_core.HEAP_PER_WIRE_BYTE, ENTRY_OVERHEAD_BYTES): it must not
    be below what the process's resident memory grows by, for a small and a large answer."""
    large = pb.ResolveResponse(guardrails=["hipaa_audit", "pii_masking"], applied_policies=["global-baseline", "healthcare-compliance"], revision="r")
    for name in ("global-baseline", "healthcare-compliance", "gpt4-pipeline"):
        large.matched_policies.add(policy_name=name, matched_via="team:health-team", applied=True, guardrails=["pii_masking"], inheritance_chain=[name])
    steps = large.pipelines.add(policy_name="gpt4-pipeline").pipeline.steps
    steps.add(guardrail="secrets_filter", on_pass=pb.NEXT, on_fail=pb.BLOCK, pass_data=True)
    large.headers["x-litellm-applied-policies"] = "global-baseline,healthcare-compliance,gpt4-pipeline"
    small = pb.ResolveResponse(guardrails=["pii_masking"], applied_policies=["global-baseline"], revision="r")
    for answer in (small, large):
        wire = answer.SerializeToString()
        state = _core.CacheState(_core.CacheOptions(max_entries=5000, max_bytes=1 << 40), keep_stale=False)
        state.activated("r")
        gc.collect()
        before = _rss()
        for i in range(5000):
            response, size = _core.sized_resolve_response(bytes(wire))
            state.put(("team", f"key-{i}", "gpt-4", (), (), (), ()), _core.Resolved(response, False), size)
        gc.collect()
        measured = (_rss() - before) / 5000
        assert state.size == 5000
        assert state.bytes / state.size >= measured, f"{len(wire)} wire bytes: counted {state.bytes / state.size:.0f}, measured {measured:.0f}"
