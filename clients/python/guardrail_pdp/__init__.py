"""Python clients of the guardrail-pdp sidecar (clients/python/README.md).

    from guardrail_pdp import Client
    pdp = Client()   # $GUARDRAIL_PDP_ADDRESS, else the injected sidecar's unix:///var/run/guardrail-pdp/pdp.sock
    decision = pdp.resolve({"context": {"team_alias": "health-team", "model": "gpt-4"}})
    decision.guardrails, decision.headers, decision.revision

`guardrail_pdp.aio.AsyncClient` is the asyncio form; `guardrail_pdp.litellm` is the LiteLLM hook.
The generated messages are in `guardrail_pdp.pb` (ResolveRequest, ResolveResponse, WatchEvent...).
"""

from guardrail_pdp import pb
from guardrail_pdp._core import ADDRESS_ENV, DEFAULT_ADDRESS, FAIL_CLOSED, FAIL_STALE, CacheOptions, PdpError, Resolved, Stats, Tls, request_key
from guardrail_pdp.client import Client

__all__ = [
    "ADDRESS_ENV",
    "Client",
    "DEFAULT_ADDRESS",
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
