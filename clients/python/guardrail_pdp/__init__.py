"""Python clients of the guardrail-pdp sidecar (clients/python/README.md).

    from guardrail_pdp import Client
    pdp = Client("127.0.0.1:50051")
    decision = pdp.resolve({"context": {"team_alias": "health-team", "model": "gpt-4"}})
    decision.guardrails, decision.headers, decision.revision

`guardrail_pdp.aio.AsyncClient` is the asyncio form; `guardrail_pdp.litellm` is the LiteLLM hook.
The generated messages are in `guardrail_pdp.pb` (ResolveRequest, ResolveResponse, WatchEvent...).
"""

from guardrail_pdp import pb
from guardrail_pdp._core import FAIL_CLOSED, FAIL_STALE, CacheOptions, PdpError, Resolved, Stats, Tls, request_key
from guardrail_pdp.client import Client

__all__ = [
    "Client",
    "CacheOptions",
    "FAIL_CLOSED",
    "FAIL_STALE",
    "PdpError",
    "Resolved",
    "Stats",
    "Tls",
    "pb",
    "request_key",
]
