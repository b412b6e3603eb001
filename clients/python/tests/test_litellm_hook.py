"""guardrail_pdp.litellm against the real sidecar, with requests shaped as LiteLLM's proxy passes
them to async_pre_call_hook (LiteLLM itself is not installed here; see the README for what that
leaves untested)."""

import asyncio
import copy
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import grpc
import pytest

from guardrail_pdp import PdpError
from guardrail_pdp import litellm as hook_module
from guardrail_pdp.litellm import GuardrailPipeline, PipelineStep, apply_decision, policy_request, request_tags
from sidecar import EXAMPLE, PYTHON_ROOT, TLS

MESSAGES = [{"role": "user", "content": "hello"}]


def key_auth(team_alias=None, key_alias=None, key_policies=None, team_policies=None):
    """The attributes of LiteLLM's UserAPIKeyAuth that its policy engine reads."""
    return SimpleNamespace(
        team_alias=team_alias,
        key_alias=key_alias,
        metadata={"policies": key_policies} if key_policies is not None else {},
        team_metadata={"policies": team_policies} if team_policies is not None else None,
    )


def litellm_request(body, metadata=None, variable="metadata"):
    """A request after LiteLLM's add_litellm_data_to_request: the body's fields, its proxy metadata
    (`metadata` or `litellm_metadata`), and the original body under proxy_server_request."""
    data = copy.deepcopy(body)
    data[variable] = {"headers": {"user-agent": "test"}, "user_api_key_alias": "app-1", **(metadata or {})}
    data["proxy_server_request"] = {"url": "http://localhost:4000/chat/completions", "method": "POST", "body": copy.copy(body)}
    return data


def headers_litellm_would_send(metadata):
    """How LiteLLM turns the metadata into its response headers (docs/semantics.md §6)."""
    out = {}
    if metadata.get("applied_policies"):
        out["x-litellm-applied-policies"] = ",".join(metadata["applied_policies"])
    if metadata.get("policy_sources"):
        out["x-litellm-policy-sources"] = "; ".join(f"{k}={v}" for k, v in metadata["policy_sources"].items())
    return out


@pytest.fixture
def hook(example_sidecar):
    """Makes hooks on the example sidecar; each is used in one event loop (run_hook), which closes it."""

    def make(**kwargs):
        kwargs.setdefault("run_pre_call_pipelines", False)
        return hook_module.PdpPolicyHook(example_sidecar.address, timeout=2, **kwargs)

    return make


def run_hook(h, data, auth, call_type="acompletion"):
    async def go():
        try:
            return await h.async_pre_call_hook(user_api_key_dict=auth, cache=None, data=data, call_type=call_type)
        finally:
            await h.client.close()

    return asyncio.run(go())


def test_a_team_request_gets_the_guardrails_policies_sources_and_pipelines_litellm_would_record(hook):
    data = litellm_request({"model": "gpt-4", "messages": MESSAGES, "policies": ["strict-mode"]}, metadata={"guardrails": ["my-own-guardrail"]})
    data.pop("policies")  # LiteLLM's request setup has already taken it out of the body
    out = run_hook(hook(), data, key_auth(team_alias="health-team", key_alias="app-1"))
    assert out is data
    metadata = data["metadata"]
    assert metadata["guardrails"] == ["my-own-guardrail", "hipaa_audit", "pii_masking", "prompt_injection", "toxicity_filter"]
    assert metadata["applied_policies"] == ["global-baseline", "healthcare-compliance", "gpt4-pipeline", "strict-mode"]
    assert metadata["policy_sources"] == {"global-baseline": "scope:*", "healthcare-compliance": "team:health-team", "gpt4-pipeline": "model:gpt-4"}
    assert headers_litellm_would_send(metadata) == {
        "x-litellm-applied-policies": "global-baseline,healthcare-compliance,gpt4-pipeline,strict-mode",
        "x-litellm-policy-sources": "global-baseline=scope:*; healthcare-compliance=team:health-team; gpt4-pipeline=model:gpt-4",
    }
    [(policy, pipeline)] = metadata["_guardrail_pipelines"]
    assert policy == "gpt4-pipeline"
    assert pipeline == GuardrailPipeline(
        mode="pre_call",
        steps=[
            PipelineStep(guardrail="secrets_filter", on_pass="next", on_fail="block", on_error=None, pass_data=True),
            PipelineStep(guardrail="vendor_check", on_pass="allow", on_fail="modify_response", on_error="next", modify_response_message="I can't help with that."),
        ],
    )
    assert metadata["_pipeline_managed_guardrails"] == {"secrets_filter", "vendor_check"}
    assert "policies" not in data


def test_the_headers_match_the_sidecars_own(hook, example_sidecar):
    async def go():
        h = hook()
        data = litellm_request({"model": "anthropic/claude-3", "messages": MESSAGES, "tags": ["provider-x"]})
        decision = await h.decide(data, key_auth(team_alias="health-team", key_alias="dev-key-1"))
        await h.client.close()
        return data, decision

    data, decision = asyncio.run(go())
    assert headers_litellm_would_send(data["metadata"]) == dict(decision.headers)
    assert "anthropic-only" in data["metadata"]["applied_policies"]


def test_litellm_metadata_tags_from_metadata_and_body_and_named_policies(hook):
    data = litellm_request({"model": "gpt-3.5", "messages": MESSAGES, "tags": ["provider-x"]}, metadata={"tags": ["team-tag"]}, variable="litellm_metadata")
    data["policies"] = ["strict-mode"]  # not yet taken out: the hook takes it out
    out = run_hook(hook(), data, key_auth(key_alias="dev-key-1", key_policies=["strict-mode"], team_policies=["healthcare-compliance"]))
    metadata = out["litellm_metadata"]
    assert "metadata" not in out
    # healthcare-compliance (named by the team) and anthropic-only (attached by tag) have model
    # conditions that gpt-3.5 fails: neither applies, nor has a source.
    assert metadata["applied_policies"] == ["global-baseline", "legacy-style", "strict-mode"]
    assert metadata["policy_sources"] == {"global-baseline": "scope:*", "legacy-style": "key:dev-key-1"}
    assert "policies" not in out
    assert "_guardrail_pipelines" not in metadata


def test_the_context_is_built_as_litellms_engine_builds_it():
    data = litellm_request({"model": "gpt-4", "messages": MESSAGES, "tags": ["b", 7, "c"], "policies": ["p1", 3]}, metadata={"tags": '["a"]'})
    data["metadata"] = '{"tags": ["a"]}'  # metadata may arrive as a JSON string
    assert request_tags(data) == ["a", "b", "c"]
    request = policy_request(data, key_auth(team_alias="t", key_policies=["k"], team_policies="not-a-list"))
    assert request == {
        "context": {"team_alias": "t", "key_alias": None, "model": "gpt-4", "tags": ["a", "b", "c"]},
        "request_policies": ["p1"],
        "key_policies": ["k"],
        "team_policies": [],
    }
    no_model = policy_request(litellm_request({"messages": MESSAGES}), key_auth())
    assert no_model["context"]["model"] is None


def test_a_guardrail_the_body_names_stays_even_when_a_pipeline_manages_it():
    from guardrail_pdp import pb

    decision = pb.ResolveResponse(guardrails=["g1"], pipeline_managed_guardrails=["g2", "g3"])
    decision.pipelines.add(policy_name="p").pipeline.steps.add(guardrail="g2")
    data = litellm_request({"model": "m", "guardrails": ["g2"]}, metadata={"guardrails": ["g2", "g3", "g0"]})
    data.pop("guardrails")
    apply_decision(data, decision)
    assert data["metadata"]["guardrails"] == ["g2", "g0", "g1"]


def test_fail_mode_closed_raises_and_open_lets_the_request_through(start_sidecar):
    sidecar = start_sidecar(EXAMPLE)
    closed = hook_module.PdpPolicyHook(sidecar.address, timeout=1, run_pre_call_pipelines=False)
    open_ = hook_module.PdpPolicyHook(sidecar.address, timeout=1, fail_mode="open", run_pre_call_pipelines=False)
    stale = hook_module.PdpPolicyHook(sidecar.address, timeout=1, fail_mode="stale", run_pre_call_pipelines=False)
    auth = key_auth(team_alias="health-team")

    async def go():
        await stale.decide(litellm_request({"model": "gpt-4"}), auth)
        sidecar.stop()  # blocks this loop: then let the stale hook's Watch task see its stream end
        while stale.client.stats().watching:
            await asyncio.sleep(0.01)
        with pytest.raises(PdpError) as e:  # without FastAPI; LiteLLM's proxy has it: HTTP 503
            await closed.async_pre_call_hook(auth, None, litellm_request({"model": "gpt-4"}), "acompletion")
        assert e.value.code == grpc.StatusCode.UNAVAILABLE
        passed = await open_.async_pre_call_hook(auth, None, litellm_request({"model": "gpt-4"}), "acompletion")
        assert "applied_policies" not in passed["metadata"]
        cached = await stale.async_pre_call_hook(auth, None, litellm_request({"model": "gpt-4"}), "acompletion")
        assert cached["metadata"]["applied_policies"] == ["global-baseline", "healthcare-compliance", "gpt4-pipeline"]
        for h in (closed, open_, stale):
            await h.client.close()

    asyncio.run(go())


def test_a_request_the_sidecar_refuses_is_an_error_in_every_fail_mode(hook):
    with pytest.raises(PdpError) as e:
        run_hook(hook(fail_mode="open"), litellm_request({"model": "gpt-4", "policies": [""]}), key_auth())
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_pre_call_pipelines_are_refused_rather_than_skipped_without_litellms_executor(hook):
    with pytest.raises(RuntimeError, match="pre_call pipelines \\(gpt4-pipeline\\)"):
        run_hook(hook(run_pre_call_pipelines=True), litellm_request({"model": "gpt-4", "messages": MESSAGES}), key_auth())
    out = run_hook(hook(run_pre_call_pipelines=True), litellm_request({"model": "gpt-3.5", "messages": MESSAGES}), key_auth())
    assert out["metadata"]["applied_policies"] == ["global-baseline"]


def _run_with_stub_litellm(script: str, env: dict) -> subprocess.CompletedProcess:
    """Runs `script` in a fresh interpreter where a stub `litellm` package stands in for LiteLLM's
    modules the hook imports: it checks how the hook uses them, not LiteLLM's behaviour."""
    stub = textwrap.dedent(
        """
        import sys, types
        calls = []
        def module(name, **attrs):
            m = types.ModuleType(name); m.__dict__.update(attrs); sys.modules[name] = m; return m
        class CustomLogger:
            def __init__(self, **kwargs): self.init_kwargs = kwargs
            async def async_pre_call_hook(self, user_api_key_dict, cache, data, call_type): return None
        class PipelineExecutor:
            @staticmethod
            async def execute_steps(**kwargs):
                calls.append(("execute_steps", kwargs["policy_name"], kwargs["mode"], [s.guardrail for s in kwargs["steps"]], kwargs["call_type"]))
                return "result"
        class ProxyLogging:
            @staticmethod
            def _handle_pipeline_result(result, data, policy_name):
                calls.append(("handle", result, policy_name)); data["handled"] = True; return data
        class CustomGuardrail(CustomLogger):
            def __init__(self, guardrail_name): self.guardrail_name = guardrail_name
        for name in ("litellm.integrations", "litellm.proxy", "litellm.proxy.policy_engine", "litellm.types", "litellm.types.proxy"):
            module(name)
        litellm = module("litellm", callbacks=[])
        module("litellm.integrations.custom_logger", CustomLogger=CustomLogger)
        module("litellm.integrations.custom_guardrail", CustomGuardrail=CustomGuardrail)
        module("litellm.proxy.policy_engine.pipeline_executor", PipelineExecutor=PipelineExecutor)
        module("litellm.proxy.utils", ProxyLogging=ProxyLogging)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", stub + textwrap.dedent(script)], capture_output=True, text=True, timeout=60, env={**os.environ, **env, "PYTHONPATH": PYTHON_ROOT}
    )


def test_with_litellm_it_is_a_custom_logger_that_defines_the_hook_runs_pre_call_pipelines_and_checks_its_place(example_sidecar):
    script = """
        import asyncio, logging, guardrail_pdp.litellm as m
        from types import SimpleNamespace
        from litellm.integrations.custom_logger import CustomLogger
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
        hook = m.pdp_policies
        litellm.callbacks[:] = [CustomGuardrail("pii_masking"), hook]
        assert isinstance(hook, CustomLogger), type(hook).__mro__
        assert "async_pre_call_hook" in vars(type(hook))
        auth = SimpleNamespace(team_alias=None, key_alias=None, metadata={}, team_metadata=None)
        data = {"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}], "metadata": {}}
        out = asyncio.run(hook.async_pre_call_hook(auth, None, data, "acompletion"))
        assert out["handled"] is True
        assert calls == [("execute_steps", "gpt4-pipeline", "pre_call", ["secrets_filter", "vendor_check"], "acompletion"), ("handle", "result", "gpt4-pipeline")], calls
        print("ok")
    """
    run = _run_with_stub_litellm(script, {"GUARDRAIL_PDP_ADDRESS": example_sidecar.address, "GUARDRAIL_PDP_TIMEOUT": "2"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
    assert "these guardrails run before the policy hook and will not see the guardrails policies add: pii_masking" in run.stderr


def test_from_env_reads_the_socket_tls_and_modes(tmp_dir, start_sidecar):
    socket = os.path.join(tmp_dir, "pdp.sock")
    tls = ["--tls-cert", os.path.join(TLS, "server.pem"), "--tls-key", os.path.join(TLS, "server.key")]
    start_sidecar(EXAMPLE, listen=f"unix://{socket}", extra_args=tls)
    env = {
        "GUARDRAIL_PDP_SOCKET": socket,
        "GUARDRAIL_PDP_TLS_CA": os.path.join(TLS, "ca.pem"),
        "GUARDRAIL_PDP_FAIL_MODE": "stale",
        "GUARDRAIL_PDP_RUN_PRE_CALL_PIPELINES": "false",
    }
    h = hook_module.PdpPolicyHook.from_env(env)
    assert (h.fail_mode, h.run_pre_call_pipelines) == ("stale", False)
    out = run_hook(h, litellm_request({"model": "gpt-4"}), key_auth())
    assert out["metadata"]["applied_policies"] == ["global-baseline", "gpt4-pipeline"]
    with pytest.raises(ValueError):
        hook_module.PdpPolicyHook.from_env({"GUARDRAIL_PDP_FAIL_MODE": "sometimes"})
