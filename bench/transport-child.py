"""Resolve over TCP or a Unix socket with Python's grpcio (gRPC's C core), one call in flight,
open loop: call k is scheduled at k / RATE and its latency runs from then to its answer, so a slow
call that delays the next one is charged to both. Started by bench/transport.mjs pinned to the
client core; prints one JSON line of latencies in ms.

    /usr/bin/python3 bench/transport-child.py TARGET BODIES RATE
TARGET: host:port or unix:///path. BODIES: a file of request bodies, each a 4-byte big-endian
length and the encoded ResolveRequest (one body per call, in order)."""
import json
import math
import struct
import sys
import time

import grpc

target, bodies_path, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(bodies_path, "rb") as f:
    data = f.read()
bodies = []
pos = 0
while pos < len(data):
    (n,) = struct.unpack(">I", data[pos : pos + 4])
    bodies.append(data[pos + 4 : pos + 4 + n])
    pos += 4 + n

channel = grpc.insecure_channel(target)
resolve = channel.unary_unary("/guardrail.pdp.v1.DecisionService/Resolve")  # bytes in, bytes out
resolve(bodies[0], timeout=5)  # connect (and a first call) before the clock starts

lat_ms = []
errors = 0
period = 1.0 / rate
t0 = time.perf_counter()
for k, body in enumerate(bodies[1:]):
    scheduled = t0 + k * period
    # Sleep most of the wait, spin the last stretch: time.sleep alone wakes up to ~1 ms late.
    while True:
        left = scheduled - time.perf_counter()
        if left <= 0:
            break
        if left > 0.0015:
            time.sleep(left - 0.001)
    try:
        resolve(body, timeout=5)
    except grpc.RpcError:
        errors += 1
    lat_ms.append((time.perf_counter() - scheduled) * 1000)
channel.close()
lat_ms.sort()


def pct(p):
    # Nearest rank, as bench/stats.mjs.
    rank = math.ceil(len(lat_ms) * p / 100 - 1e-9)
    return round(lat_ms[min(len(lat_ms) - 1, max(0, rank - 1))], 3)


print(json.dumps({"count": len(lat_ms), "errors": errors, "p50": pct(50), "p90": pct(90), "p99": pct(99), "p999": pct(99.9), "max": round(lat_ms[-1], 3)}))
