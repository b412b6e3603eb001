"""The generated messages of guardrail.pdp.v1, under one name (from guardrail_pdp._gen, which
clients/python/scripts/gen.py writes from proto/)."""

from guardrail_pdp._gen.guardrail.pdp.v1.context_pb2 import RequestContext
from guardrail_pdp._gen.guardrail.pdp.v1.pipeline_pb2 import (
    ALLOW,
    BLOCK,
    ERROR,
    FAIL,
    MODIFY_RESPONSE,
    NEXT,
    PASS,
    POST_CALL,
    PRE_CALL,
    Action,
    ChatMessage,
    ExecutePipelineRequest,
    ExecutePipelineResponse,
    Mode,
    Outcome,
    Pipeline,
    PipelineStep,
    StepResult,
)
from guardrail_pdp._gen.guardrail.pdp.v1.resolve_pb2 import MatchedPolicy, PolicyPipeline, ResolveRequest, ResolveResponse
from guardrail_pdp._gen.guardrail.pdp.v1.watch_pb2 import Issue, WatchEvent, WatchRequest

__all__ = [
    "ALLOW",
    "BLOCK",
    "ERROR",
    "FAIL",
    "MODIFY_RESPONSE",
    "NEXT",
    "PASS",
    "POST_CALL",
    "PRE_CALL",
    "Action",
    "ChatMessage",
    "ExecutePipelineRequest",
    "ExecutePipelineResponse",
    "Issue",
    "MatchedPolicy",
    "Mode",
    "Outcome",
    "Pipeline",
    "PipelineStep",
    "PolicyPipeline",
    "RequestContext",
    "ResolveRequest",
    "ResolveResponse",
    "StepResult",
    "WatchEvent",
    "WatchRequest",
]
