#!/usr/bin/env python3
"""Turns scripts/bench's RESULT lines into the table of docs/performance.md."""
import os
import sys

path, duration, connections, elapsed = sys.argv[1:5]
backend = sys.argv[5] if len(sys.argv) > 5 else None
results = {}
apis = []
for line in open(path):
    words = line.split()
    if len(words) < 2 or words[0] != "RESULT":
        continue
    name, fields = words[1], dict(w.split("=", 1) for w in words[2:] if "=" in w)
    if name == "api":
        apis.append(fields)
    else:
        results.setdefault(name, {}).update(fields)


def wrk_rate(r):
    return int(r["requests"]) / (int(r["duration_us"]) / 1e6)


ceiling = wrk_rate(results["ceiling"])
rows = []
def row(name, figure, unit, p50="", p99="", worst="", ratio=None, notes=""):
    rows.append(f"| {name} | {figure:,.0f} {unit} | {p50} | {p99} | {worst} | {'' if ratio is None else f'{ratio:.2f}'} | {notes} |")

row("1. ceiling: `GET /healthz` (same binary)", ceiling, "req/s", f"{int(results['ceiling']['p50_us'])/1000:.2f}",
    f"{int(results['ceiling']['p99_us'])/1000:.2f}", "", 1.0, f"{results['ceiling']['errors']} errors")
ingest = results["ingest"]
row("2. ingest: signed Twilio SMS, commit before 200", wrk_rate(ingest), "req/s", f"{int(ingest['p50_us'])/1000:.2f}",
    f"{int(ingest['p99_us'])/1000:.2f}", "", wrk_rate(ingest) / ceiling,
    f"{ingest['errors']} errors, {ingest['non2xx']} non-2xx; {results['stored']['ingest']} stored")
latency = results["latency"]
row(f"3. end to end: webhook → reply at the fake Twilio API, echo bot", float(latency["rate"]), "webhooks/s",
    latency["p50_ms"], latency["p99_ms"], latency["max_ms"], None,
    f"{latency['replies']} of {latency['webhooks']} replies; at most {latency['max_behind']} behind")
outbound_rows = [line for line in open(path) if line.startswith("RESULT outbound")]
for index, line in enumerate(outbound_rows):
    o = dict(w.split("=", 1) for w in line.split()[2:])
    label = "4. outbound relay alone: queued agent messages → libcurl → fake API" if index == 0 else "5b. mixed outbound: SMS, Messenger, RCS"
    instances = int(o.get("instances", "1"))
    if instances > 1:
        label += f", {instances} instances draining one outbox"
    row(f"{label} ({o['channels']})", float(o["rate"]), "msg/s", "", "", "", float(o["rate"]) / ceiling,
        f"{o['delivered']}/{o['messages']} in {o['seconds']} s; {o['connections']} connections; {o['cpu_cores']} cores of CPU")
mixed = results["mixed"]
mixed_rate = wrk_rate(mixed)
stored = int(results["stored"]["mixed"])
row("5a. mixed ingest: Twilio SMS, Messenger batches of 10, RBM", mixed_rate, "req/s", f"{int(mixed['p50_us'])/1000:.2f}",
    f"{int(mixed['p99_us'])/1000:.2f}", "", mixed_rate / ceiling,
    f"{stored / (int(mixed['duration_us']) / 1e6):,.0f} messages/s stored; {mixed['errors']} errors, {mixed['non2xx']} non-2xx")
scale = results["scale"]
for api in apis:
    row(f"6. API at {int(scale['messages']):,} messages: {api['query']}", 0, "", api["p50_ms"], api["p99_ms"], api["max_ms"])
if "broadcast" in results:
    b = results["broadcast"]
    row(f"7. broadcast to a tag of {int(b['recipients']):,} contacts: POST → 202, recipients written", 0, "", b["p50_ms"], b["p99_ms"],
        b["max_ms"], None, "3 broadcasts, each cancelled after its 202")

if backend:
    print(f"**{backend}**")
    print()
print(f"| benchmark | figure | p50 ms | p99 ms | max ms | ratio to ceiling | notes |")
print("|---|---|---|---|---|---|---|")
for line in rows:
    print(line.replace("| 0  |", "| |"))
print()
print(f"Memory (RSS): {scale['rss_idle_empty_mib']} MiB idle on an empty database; {scale['rss_idle_loaded_mib']} MiB idle with "
      f"{int(scale['contacts']):,} contacts and {int(scale['messages']):,} messages ({scale['db_mib']} MiB file, stored at "
      f"{float(scale['seed_rate']):,.0f} messages/s); {scale['rss_after_api_mib']} MiB after the API queries; "
      f"{results['ingest_rss']['mib']} MiB after the ingest runs.")
print(f"Machine: {os.cpu_count()} cores; {duration} s per wrk run, {connections} connections, 2 wrk threads; whole run {elapsed} s.")
