#!/usr/bin/env python3
"""Writes a realistic JSON access log for `vigil backtest` benchmarks.

usage: scripts/gen-access-log.py LINES [LINES_PER_SECOND] > access.log

One line per request, one second apart on average (or LINES_PER_SECOND a second), 12 endpoints, latencies mostly
fast with a slow tail; about 1 in 2,000 /api/data requests takes over 3 s, and every
100,000 lines an incident: 8 slow /api/data requests in a row (the seed rule fires).
"""
import json
import random
import sys

random.seed(7)
lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rate = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
paths = ["/api/data", "/api/users", "/api/orders", "/api/items", "/healthz", "/api/search",
         "/api/cart", "/login", "/logout", "/static/app.js", "/static/app.css", "/api/reports"]
ts = 1_795_341_600.0
out = sys.stdout
for i in range(lines):
    ts += random.uniform(0.5, 1.5) / rate
    incident = i % 100_000 < 8
    path = "/api/data" if incident else random.choice(paths)
    slow = incident or (path == "/api/data" and random.random() < 0.0005)
    duration = random.uniform(3.1, 8.0) if slow else random.lognormvariate(-3.0, 0.8)
    status = 500 if random.random() < 0.003 else 200
    record = {
        "ts": round(ts, 3), "level": "info", "method": random.choice(["GET", "GET", "GET", "POST"]),
        "path": path, "status": status, "duration": f"{duration:.3f}s",
        "bytes": random.randint(200, 20000), "client": f"10.0.{random.randint(0, 255)}.{random.randint(1, 254)}",
        "request_id": f"{random.getrandbits(64):016x}", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
    }
    out.write(json.dumps(record, separators=(",", ":")))
    out.write("\n")
