#!/usr/bin/python3
"""The bookkeeping of bench/compare.sh: one JSON record per load-generator
run, and the table and targets made from them.

  compare_report.py record FILE SERVER STEP N RC ALIVE LA0 LA1 DSRV DCLI OUT ARGS...
      reads the last `LOAD_RESULT {json}` line of OUT (the generator's
      stdout), appends one record to FILE (JSON lines) and prints one
      progress line. A run without a LOAD_RESULT line is recorded with
      "result": null.
  compare_report.py held FILE
      exit status 0 when FILE's last run held, 1 when not.
  compare_report.py churn FILE JSONFILE
      appends churn.sh's CHURN_RESULT (a JSON file) to FILE.
  compare_report.py report FILE [--quick]
      prints the per-run table, the summary table, the ratios and the
      issue's targets; exit status 0 when every target is met, 1 when one
      is not (or could not be measured).

"Held" means: every requested session connected, none failed, loss below
0.1 %, the generator exited 0 and the server was still running after it.
"""

import json
import sys

SERVERS = ("voxgate", "janus", "aiortc")
LOSS_LIMIT = 0.1  # per cent


def get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d or d[p] is None:
            return default
        d = d[p]
    return d


def held(rec):
    r = rec.get("result")
    if not r or rec["rc"] != 0 or not rec["alive"]:
        return False
    return (r.get("sessions_connected") == rec["n"] and not r.get("sessions_failed")
            and r.get("loss_pct") is not None and r["loss_pct"] < LOSS_LIMIT)


def fmt(x, nd=1):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def record(argv):
    path, server, step, n, rc, alive, la0, la1, dsrv, dcli, out = argv[:11]
    args = argv[11:]
    result = None
    with open(out, errors="replace") as f:
        for line in f:
            if line.startswith("LOAD_RESULT "):
                try:
                    result = json.loads(line[len("LOAD_RESULT "):])
                except ValueError:
                    result = None
    rec = {"server": server, "step": step, "n": int(n), "rc": int(rc), "alive": alive == "1",
           "loadavg": [la0, la1], "udp_rcvbuf_drops": {"server_ns": int(dsrv), "client_ns": int(dcli)},
           "args": args, "result": result}
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")
    r = result or {}
    print(f"  {server:7} {step:9} N={n:>5}: connected {fmt(r.get('sessions_connected'))}"
          f" failed {fmt(r.get('sessions_failed'))} loss {fmt(r.get('loss_pct'), 3)} %"
          f" rtt p50/p99 {fmt(get(r, 'rtt_ms', 'p50'), 2)}/{fmt(get(r, 'rtt_ms', 'p99'), 2)} ms"
          f" connect p50/p95 {fmt(get(r, 'connect_ms', 'p50'))}/{fmt(get(r, 'connect_ms', 'p95'))} ms"
          f" cpu {fmt(get(r, 'server', 'cpu_ms_per_session_s'), 3)} ms/sess-s"
          f" rss {fmt(get(r, 'server', 'rss_kb_per_session'))} KB/sess"
          f" udp drops srv/cli {dsrv}/{dcli}"
          f" [{'held' if held(rec) else 'NOT held'}; rc {rc}; load {la1}]", flush=True)


def churn(argv):
    path, jf = argv
    with open(jf) as f:
        c = json.load(f)
    with open(path, "a") as f:
        f.write(json.dumps({"server": "voxgate", "step": "churn", "churn": c}) + "\n")


def table(head, rows):
    w = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print(line(r))


def report(argv):
    path = argv[0]
    recs = [json.loads(l) for l in open(path) if l.strip()]
    runs = [r for r in recs if r["step"] != "churn"]
    churns = [r["churn"] for r in recs if r["step"] == "churn"]

    print("\nEvery run (server restarted before each; load average = 1-min at the end):")
    rows = []
    for rec in runs:
        r = rec["result"] or {}
        rows.append([rec["server"], rec["step"], rec["n"],
                     f"{fmt(r.get('sessions_connected'))}/{fmt(r.get('sessions_failed'))}",
                     fmt(r.get("loss_pct"), 3),
                     f"{fmt(get(r, 'rtt_ms', 'p50'), 2)} / {fmt(get(r, 'rtt_ms', 'p99'), 2)}",
                     f"{fmt(get(r, 'connect_ms', 'p50'))} / {fmt(get(r, 'connect_ms', 'p95'))}",
                     fmt(get(r, "server", "cpu_ms_per_session_s"), 3),
                     fmt(get(r, "server", "rss_kb_per_session")),
                     fmt(r.get("loadgen_cpu_s"), 1),
                     "{server_ns}/{client_ns}".format(**rec.get("udp_rcvbuf_drops",
                                                              {"server_ns": "-", "client_ns": "-"})),
                     "yes" if held(rec) else "NO", rec["loadavg"][1]])
    table(["server", "step", "N", "conn/failed", "loss %", "rtt p50 / p99 ms", "connect p50 / p95 ms",
           "CPU ms/sess-s", "RSS KB/sess", "loadgen CPU s", "UDP drops srv/cli", "held", "load"], rows)

    same = {rec["server"]: rec for rec in runs if rec["step"] == "same"}
    summary = {}
    for s in SERVERS:
        mine = [rec for rec in runs if rec["server"] == s and rec["step"] in ("same", "capacity", "big")]
        if not mine:
            continue
        ok = [rec["n"] for rec in mine if held(rec)]
        bad = [rec["n"] for rec in mine if not held(rec)]
        if ok and (not bad or max(ok) > max(bad)):
            cap = f"{max(ok)} (largest tried)"
        elif ok:
            cap = f"{max(ok)} (failed at {min(n for n in bad if n > max(ok))})" \
                if any(n > max(ok) for n in bad) else f"{max(ok)}"
        else:
            cap = f"< {min(bad)}"
        # RSS per session from the largest run with every session connected
        # (more sessions, less noise; loss does not change the memory)
        big = max((rec for rec in mine if get(rec, "result", "sessions_connected") == rec["n"]),
                  key=lambda x: x["n"], default=None)
        sr = (same.get(s) or {}).get("result") or {}
        summary[s] = {
            "cap": cap,
            "cpu": get(sr, "server", "cpu_ms_per_session_s"),
            "rss": get((big or {}).get("result") or {}, "server", "rss_kb_per_session"),
            "rss_n": big["n"] if big else None,
            "d50": get(sr, "rtt_ms", "p50"), "d99": get(sr, "rtt_ms", "p99"),
            "c50": get(sr, "connect_ms", "p50"), "c95": get(sr, "connect_ms", "p95"),
        }
    n_same = next(iter(same.values()))["n"] if same else "?"
    print(f"\nSummary (CPU, delay and connect at the same N = {n_same} for all; "
          "RSS per session from each server's largest run with all connected, N in brackets):")
    rows = []
    for s, v in summary.items():
        rows.append([s, v["cap"], fmt(v["cpu"], 3),
                     f"{fmt(v['rss'], 1)} (N={v['rss_n']})" if v["rss"] is not None else "-",
                     f"{fmt(v['d50'], 2)} / {fmt(v['d99'], 2)}",
                     f"{fmt(v['c50'], 1)} / {fmt(v['c95'], 1)}"])
    table(["server", "sessions held with <0.1 % loss", "CPU ms per session-second",
           "RSS KB per session", "added delay p50/p99 ms", "connect p50/p95 ms"], rows)

    vc = get(summary, "voxgate", "cpu")
    ratios = {}
    for other in ("janus", "aiortc"):
        oc = get(summary, other, "cpu")
        ratios[other] = oc / vc if vc and oc else None
    print("\nCPU per session, voxgate/Janus: " +
          (f"{1 / ratios['janus']:.3f} (Janus uses {ratios['janus']:.1f}x voxgate's)"
           if ratios["janus"] else "-") +
          "; voxgate/aiortc: " +
          (f"{1 / ratios['aiortc']:.4f} (aiortc uses {ratios['aiortc']:.1f}x voxgate's)"
           if ratios["aiortc"] else "-"))

    # The same ratio at every other N both servers ran with all sessions
    # connected (the CPU per session falls with N where a server batches).
    def cpu_at(server):
        out = {}
        for rec in runs:
            if rec["server"] == server and rec["step"] in ("same", "capacity", "big") \
                    and get(rec, "result", "sessions_connected") == rec["n"]:
                out[rec["n"]] = get(rec, "result", "server", "cpu_ms_per_session_s")
        return out
    vat = cpu_at("voxgate")
    for other in ("janus", "aiortc"):
        oat = cpu_at(other)
        common = [n for n in sorted(set(vat) & set(oat)) if vat[n] and oat[n]]
        if common:
            print(f"  {other} CPU per session / voxgate's at each N both ran: " +
                  ", ".join(f"N={n}: {oat[n] / vat[n]:.1f}x" for n in common))

    targets = []
    targets.append(("CPU per echo session >= 2x less than Janus",
                    ratios["janus"] is not None and ratios["janus"] >= 2,
                    f"{ratios['janus']:.1f}x" if ratios["janus"] else "not measured"))
    targets.append(("CPU per echo session >= 20x less than aiortc",
                    ratios["aiortc"] is not None and ratios["aiortc"] >= 20,
                    f"{ratios['aiortc']:.1f}x" if ratios["aiortc"] else "not measured"))
    big = next((rec for rec in runs if rec["step"] == "big"), None)
    if big:
        r = big["result"] or {}
        d99 = get(r, "rtt_ms", "p99")
        ok = held(big) and d99 is not None and d99 < 20
        hold = next((a for i, a in enumerate(big["args"][1:]) if big["args"][i] == "--hold"), "?")
        targets.append((f"{big['n']} sessions for {hold} s: < 0.1 % loss, p99 added delay < 20 ms", ok,
                        f"{fmt(r.get('sessions_connected'))} connected, loss {fmt(r.get('loss_pct'), 3)} %, "
                        f"p99 {fmt(d99, 2)} ms"))
    idle = next((rec for rec in runs if rec["step"] == "idle"), None)
    if idle:
        r = idle["result"] or {}
        kb = get(r, "server", "rss_kb_per_session")
        targets.append((f"server memory per idle session < 100 KB ({idle['n']} idle sessions)",
                        kb is not None and kb < 100 and r.get("sessions_connected") == idle["n"],
                        f"{fmt(kb)} KB"))
    conn = next((rec for rec in runs if rec["step"] == "connect"), None)
    base = next((rec for rec in runs if rec["step"] == "running"), None)
    if conn:
        r = conn["result"] or {}
        p95 = get(r, "connect_ms", "p95")
        running = get((base or {}).get("result") or {}, "sessions_connected")
        targets.append((f"connect p95 < 50 ms with {running} sessions running "
                        f"({conn['n']} new)", p95 is not None and p95 < 50
                        and r.get("sessions_connected") == conn["n"]
                        and base is not None and held(base), f"{fmt(p95)} ms"))
    for c in churns:
        targets.append((f"churn: {c.get('total')} sessions, {c.get('batch')} at a time; "
                        "RSS and fds back to start; held echo < 0.1 % loss",
                        bool(c.get("pass")), c.get("summary", "")))

    print("\nTargets (issue 7):")
    for name, ok, what in targets:
        print(f"  [{'met' if ok else 'NOT MET'}] {name}: {what}")
    return 0 if targets and all(ok for _, ok, _ in targets) else 1


def main():
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "record":
        record(argv)
    elif cmd == "held":
        recs = [json.loads(l) for l in open(argv[0]) if l.strip()]
        sys.exit(0 if recs and held(recs[-1]) else 1)
    elif cmd == "churn":
        churn(argv)
    elif cmd == "report":
        sys.exit(report(argv))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
