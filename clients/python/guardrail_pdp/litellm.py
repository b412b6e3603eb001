"""LiteLLM's policy engine, answered by the sidecar (clients/python/README.md, "LiteLLM").

LiteLLM loads the hook from its config.yaml (`litellm_settings.callbacks`). On each request its
`async_pre_call_hook` builds the policy context as LiteLLM's own engine does (the key's team and key
aliases, the request's model and tags, the body's `policies`, the key's and team's
`metadata.policies`), asks the sidecar (Resolve, through a cached AsyncClient), and writes the answer
where LiteLLM's engine writes its own: the guardrails into the request's metadata guardrail list,
merged with those already there; the applied policies and their sources, from which LiteLLM builds
the `x-litellm-applied-policies` and `x-litellm-policy-sources` headers; and the pipelines with the
guardrails they manage. LiteLLM runs pre_call pipelines before its callbacks, so the hook runs
those itself with LiteLLM's pipeline executor; post_call pipelines are left for LiteLLM.

LiteLLM is imported only when the hook class is first used, and only if it is installed: without
it the class stands alone (for tests and for trying it out), with it it is a LiteLLM CustomLogger.
"""

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import grpc

from guardrail_pdp._core import DEFAULT_ADDRESS, CacheOptions, PdpError, Resolved, Tls
from guardrail_pdp._gen.guardrail.pdp.v1 import pipeline_pb2, resolve_pb2
from guardrail_pdp.aio import AsyncClient

log = logging.getLogger("guardrail_pdp.litellm")

FAIL_OPEN = "open"
ENV_PREFIX = "GUARDRAIL_PDP_"

_ACTIONS = {
    pipeline_pb2.ALLOW: "allow",
    pipeline_pb2.BLOCK: "block",
    pipeline_pb2.NEXT: "next",
    pipeline_pb2.MODIFY_RESPONSE: "modify_response",
}
_MODES = {pipeline_pb2.MODE_UNSPECIFIED: "pre_call", pipeline_pb2.PRE_CALL: "pre_call", pipeline_pb2.POST_CALL: "post_call"}


@dataclass
class PipelineStep:
    """A pipeline step with the attributes of LiteLLM's PipelineStep; used when LiteLLM is not installed."""

    guardrail: str
    on_fail: str = "block"
    on_pass: str = "allow"
    on_error: Optional[str] = None
    pass_data: bool = False
    modify_response_message: Optional[str] = None


@dataclass
class GuardrailPipeline:
    """A pipeline with the attributes of LiteLLM's GuardrailPipeline; used when LiteLLM is not installed."""

    mode: str
    steps: List[PipelineStep] = field(default_factory=list)


def _pipeline_classes() -> Tuple[Any, Any]:
    try:
        from litellm.types.proxy.policy_engine import GuardrailPipeline as LiteLLMPipeline  # type: ignore
        from litellm.types.proxy.policy_engine import PipelineStep as LiteLLMStep  # type: ignore

        return LiteLLMPipeline, LiteLLMStep
    except ImportError:
        return GuardrailPipeline, PipelineStep


def to_litellm_pipeline(pipeline: pipeline_pb2.Pipeline) -> Any:
    """A Resolve pipeline as LiteLLM's GuardrailPipeline (its actions as LiteLLM's words; a step's
    timeout_ms, which LiteLLM's pipelines do not have, is left out)."""
    pipeline_class, step_class = _pipeline_classes()
    steps = []
    for s in pipeline.steps:
        step: Dict[str, Any] = {
            "guardrail": s.guardrail,
            "on_pass": _ACTIONS.get(s.on_pass, "allow"),
            "on_fail": _ACTIONS.get(s.on_fail, "block"),
            "on_error": _ACTIONS.get(s.on_error),
            "pass_data": s.pass_data,
        }
        if s.HasField("modify_response_message"):
            step["modify_response_message"] = s.modify_response_message
        steps.append(step_class(**step))
    return pipeline_class(mode=_MODES.get(pipeline.mode, "pre_call"), steps=steps)


def metadata_variable_name(data: Mapping[str, Any]) -> str:
    """Where LiteLLM keeps the request's proxy metadata: `litellm_metadata` when the request has it, else `metadata`."""
    return "litellm_metadata" if "litellm_metadata" in data else "metadata"


def request_tags(data: Mapping[str, Any]) -> List[str]:
    """The request's tags as LiteLLM's engine reads them: the metadata's `tags` (metadata may be a
    JSON string), then the body's `tags`; lists only, strings only, in that order."""
    metadata: Any = data.get(metadata_variable_name(data))
    if isinstance(metadata, str):
        import json

        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = {}
    if not isinstance(metadata, Mapping):
        metadata = {}
    tags: List[Any] = []
    for source in (metadata.get("tags"), data.get("tags")):
        if isinstance(source, list):
            tags.extend(source)
    return [t for t in tags if isinstance(t, str)]


def _named_policies(metadata: Any) -> List[str]:
    policies = metadata.get("policies") if isinstance(metadata, Mapping) else None
    return [p for p in policies if isinstance(p, str)] if isinstance(policies, list) else []


def _body(data: Mapping[str, Any]) -> Mapping[str, Any]:
    request = data.get("proxy_server_request")
    body = request.get("body") if isinstance(request, Mapping) else None
    return body if isinstance(body, Mapping) else {}


def policy_request(data: Dict[str, Any], user_api_key_dict: Any) -> Dict[str, Any]:
    """The Resolve request for a LiteLLM request, as LiteLLM's engine builds its context: team and
    key aliases from the key, the model and tags from the request, the body's `policies` (taken out
    of the request, as LiteLLM does, so it is not sent to the model provider; LiteLLM may have taken
    it already, then it is read from the original body in `proxy_server_request`), and the key's
    and team's `metadata.policies`."""
    body_policies = data.pop("policies", None)
    if body_policies is None:
        body_policies = _body(data).get("policies")
    model = data.get("model")
    team_alias = getattr(user_api_key_dict, "team_alias", None)
    key_alias = getattr(user_api_key_dict, "key_alias", None)
    return {
        "context": {
            "team_alias": team_alias if isinstance(team_alias, str) else None,
            "key_alias": key_alias if isinstance(key_alias, str) else None,
            "model": model if isinstance(model, str) else None,
            "tags": request_tags(data),
        },
        "request_policies": [p for p in body_policies if isinstance(p, str)] if isinstance(body_policies, list) else [],
        "key_policies": _named_policies(getattr(user_api_key_dict, "metadata", None)),
        "team_policies": _named_policies(getattr(user_api_key_dict, "team_metadata", None)),
    }


def apply_decision(data: Dict[str, Any], decision: resolve_pb2.ResolveResponse) -> None:
    """Writes a Resolve answer into a LiteLLM request as LiteLLM's engine writes its own:

    - `applied_policies` (each once, in order) and `policy_sources` ({policy: matched_via} for the
      applied attached policies): LiteLLM's x-litellm-applied-policies and x-litellm-policy-sources;
    - `_guardrail_pipelines` ([(policy, GuardrailPipeline)]) and `_pipeline_managed_guardrails`;
    - `guardrails`: those already listed plus the answer's, without pipeline-managed ones, except
      those the request body names itself (LiteLLM adds the body's after its engine ran).
    """
    name = metadata_variable_name(data)
    metadata = data.get(name)
    if not isinstance(metadata, dict):
        metadata = data[name] = {}
    if decision.applied_policies:
        applied = metadata.get("applied_policies")
        if not isinstance(applied, list):
            applied = metadata["applied_policies"] = []
        for policy in decision.applied_policies:
            if policy not in applied:
                applied.append(policy)
    sources = {m.policy_name: m.matched_via for m in decision.matched_policies if m.applied}
    if sources:
        existing = metadata.get("policy_sources")
        metadata["policy_sources"] = {**(existing if isinstance(existing, dict) else {}), **sources}

    managed = set(decision.pipeline_managed_guardrails)
    if decision.pipelines:
        metadata["_guardrail_pipelines"] = [(p.policy_name, to_litellm_pipeline(p.pipeline)) for p in decision.pipelines]
        metadata["_pipeline_managed_guardrails"] = managed
    if not decision.guardrails and not decision.pipelines:
        return
    body_guardrails = data.get("guardrails", _body(data).get("guardrails"))
    named = {g for g in body_guardrails if isinstance(g, str)} if isinstance(body_guardrails, list) else set()
    existing_guardrails = metadata.get("guardrails")
    combined: List[str] = []
    for g in list(existing_guardrails if isinstance(existing_guardrails, list) else []) + list(decision.guardrails):
        if g not in combined and (g not in managed or g in named):
            combined.append(g)
    metadata["guardrails"] = combined


def _unavailable(error: PdpError) -> Exception:
    """The exception LiteLLM answers the client with: an HTTPException (400 for a request the
    sidecar refused, 503 when it could not answer), or the PdpError itself without FastAPI."""
    try:
        from fastapi import HTTPException  # type: ignore
    except ImportError:
        return error
    status = 400 if error.code == grpc.StatusCode.INVALID_ARGUMENT else 503
    return HTTPException(status_code=status, detail={"error": f"guardrail policy decision unavailable: {error}"})


class _PdpPolicyHook:
    """The hook's methods; the class LiteLLM loads (PdpPolicyHook) is built from them on first use."""

    def __init__(
        self,
        address: Optional[str] = None,
        *,
        socket_path: Optional[str] = None,
        tls: Optional[Tls] = None,
        timeout: float = 0.5,
        fail_mode: str = "closed",
        cache: Any = True,
        run_pre_call_pipelines: bool = True,
        client: Optional[AsyncClient] = None,
        **kwargs: Any,
    ):
        """`fail_mode`: what a request gets when the sidecar cannot answer: 'closed' (default) an
        error (HTTP 503), 'stale' the last answer cached for the same context (else 503), 'open'
        no policy decision at all (logged as a warning). `run_pre_call_pipelines`: run the answer's
        pre_call pipelines with LiteLLM's executor (LiteLLM itself runs them before callbacks)."""
        super().__init__(**kwargs)  # type: ignore[call-arg]
        if fail_mode not in ("closed", "stale", FAIL_OPEN):
            raise ValueError(f"fail_mode {fail_mode!r} is not 'closed', 'stale' or 'open'")
        self.fail_mode = fail_mode
        self.run_pre_call_pipelines = run_pre_call_pipelines
        self.client = client or AsyncClient(
            address, socket_path=socket_path, tls=tls, timeout=timeout, fail_mode="stale" if fail_mode == "stale" else "closed", cache=cache
        )

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Any:
        """A hook configured by GUARDRAIL_PDP_* variables: ADDRESS (unix:///path or host:port,
        default the injected sidecar's unix:///var/run/guardrail-pdp/pdp.sock) or SOCKET (a Unix
        socket path), TIMEOUT (seconds, default 0.5), FAIL_MODE
        (closed, stale or open), TLS_CA, TLS_CERT, TLS_KEY (PEM files), TLS_SERVER_NAME,
        CACHE_MAX_ENTRIES, RUN_PRE_CALL_PIPELINES (true or false)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> Optional[str]:
            value = env.get(ENV_PREFIX + name)
            return value if value else None

        def read(name: str) -> Optional[bytes]:
            path = get(name)
            if path is None:
                return None
            with open(path, "rb") as f:
                return f.read()

        tls = None
        if any(get(n) for n in ("TLS_CA", "TLS_CERT", "TLS_KEY", "TLS_SERVER_NAME")):
            tls = Tls(ca=read("TLS_CA"), cert=read("TLS_CERT"), key=read("TLS_KEY"), server_name=get("TLS_SERVER_NAME"))
        max_entries = get("CACHE_MAX_ENTRIES")
        return cls(
            (get("ADDRESS") or DEFAULT_ADDRESS) if get("SOCKET") is None else None,
            socket_path=get("SOCKET"),
            tls=tls,
            timeout=float(get("TIMEOUT") or 0.5),
            fail_mode=get("FAIL_MODE") or "closed",
            cache=CacheOptions(max_entries=int(max_entries)) if max_entries else True,
            run_pre_call_pipelines=(get("RUN_PRE_CALL_PIPELINES") or "true").lower() not in ("false", "0"),
        )

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any) -> dict:
        """LiteLLM's pre-call hook: decides the request's policies (see the module docstring)."""
        if not getattr(self, "_order_checked", False):
            self._order_checked = True
            _warn_if_guardrails_run_first(self)
        decision = await self.decide(data, user_api_key_dict)
        if decision is not None and self.run_pre_call_pipelines:
            data = await self._run_pre_call_pipelines(data, user_api_key_dict, call_type)
        return data

    async def decide(self, data: dict, user_api_key_dict: Any) -> Optional[Resolved]:
        """Asks the sidecar and writes the answer into `data` (apply_decision); returns the answer,
        or None when fail_mode 'open' let the request through without one."""
        request = policy_request(data, user_api_key_dict)
        try:
            decision = await self.client.resolve(request)
        except PdpError as e:
            if self.fail_mode == FAIL_OPEN and e.code != grpc.StatusCode.INVALID_ARGUMENT:
                log.warning("guardrail-pdp: no policy decision (%s); fail_mode 'open' lets the request through without one", e)
                return None
            raise _unavailable(e) from None
        if decision.stale:
            log.warning("guardrail-pdp: the sidecar did not answer; using the last decision cached for this context (revision %s)", decision.revision)
        apply_decision(data, decision.response)
        return decision

    async def _run_pre_call_pipelines(self, data: dict, user_api_key_dict: Any, call_type: Any) -> dict:
        metadata = data.get(metadata_variable_name(data)) or {}
        pipelines = [(name, p) for name, p in metadata.get("_guardrail_pipelines") or [] if p.mode == "pre_call"]
        if not pipelines:
            return data
        try:
            from litellm.proxy.policy_engine.pipeline_executor import PipelineExecutor  # type: ignore
            from litellm.proxy.utils import ProxyLogging  # type: ignore
        except ImportError as e:
            raise RuntimeError(
                f"guardrail-pdp: the request has pre_call pipelines ({', '.join(n for n, _ in pipelines)}) and LiteLLM's "
                f"pipeline executor cannot be imported ({e}); refusing the request rather than skipping them"
            ) from None
        for policy_name, pipeline in pipelines:
            result = await PipelineExecutor.execute_steps(
                steps=pipeline.steps, mode=pipeline.mode, data=data, user_api_key_dict=user_api_key_dict, call_type=call_type, policy_name=policy_name
            )
            data = ProxyLogging._handle_pipeline_result(result=result, data=data, policy_name=policy_name)
        return data


def _warn_if_guardrails_run_first(hook: Any) -> None:
    """LiteLLM runs its callbacks in list order, and a guardrail that is not default_on checks the
    metadata guardrail list when its turn comes: one listed before the hook never sees the policies'."""
    try:
        import litellm as litellm_module  # type: ignore
        from litellm.integrations.custom_guardrail import CustomGuardrail  # type: ignore
    except ImportError:
        return
    callbacks = list(getattr(litellm_module, "callbacks", []) or [])
    if hook in callbacks:
        earlier = [getattr(c, "guardrail_name", type(c).__name__) for c in callbacks[: callbacks.index(hook)] if isinstance(c, CustomGuardrail)]
        if earlier:
            log.warning(
                "guardrail-pdp: these guardrails run before the policy hook and will not see the guardrails policies add: %s; "
                "list the hook first in litellm_settings.callbacks",
                ", ".join(map(str, earlier)),
            )


_built: Dict[str, Any] = {}


def _hook_class() -> Any:
    """PdpPolicyHook: the methods above, on LiteLLM's CustomLogger when LiteLLM is installed. LiteLLM's
    proxy calls async_pre_call_hook only on CustomLoggers whose own class defines it, so the class
    names it in its own namespace too."""
    if "class" not in _built:
        try:
            from litellm.integrations.custom_logger import CustomLogger  # type: ignore

            bases: Tuple[Any, ...] = (_PdpPolicyHook, CustomLogger)
        except ImportError:
            bases = (_PdpPolicyHook,)
        namespace = {"async_pre_call_hook": _PdpPolicyHook.async_pre_call_hook, "__module__": __name__, "__qualname__": "PdpPolicyHook"}
        _built["class"] = type("PdpPolicyHook", bases, namespace)
    return _built["class"]


def __getattr__(name: str) -> Any:
    # PEP 562: LiteLLM (if installed) is imported on first use of the hook, not with this module.
    if name == "PdpPolicyHook":
        return _hook_class()
    if name == "pdp_policies":
        if "instance" not in _built:
            _built["instance"] = _hook_class().from_env()
        return _built["instance"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
