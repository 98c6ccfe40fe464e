#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bar.py: prints "the bar" of the performance issue from coffer-bench JSON
(run by bench/run-bar.sh). Each Coffer figure is judged through the PKCS#11
module (coffer-p11) and through libcoffer directly (libcoffer; the sign
lines also through coffer_sign_many, 16 per call: libcoffer-b16); the
reference figures are raw OpenSSL (2 threads unless the line says 1) and
SoftHSMv2's best of 1 and 2 threads; Coffer's figure is its best over the
thread counts run (the bar fixes the machine, not the client's
concurrency). Each path runs over TLS on 127.0.0.1 and, with the suffix
"-ux", over the node's local unix socket (the same frames without TLS);
the floors beside the throughput lines are tls-min and unix-min. A
report, not a test."""
import argparse
import json
from statistics import median

COFFER = ("coffer-p11", "libcoffer", "coffer-p11-ux", "libcoffer-ux")
# Sign throughput also through coffer_sign_many (16 per call, pipelined).
COFFER_SIGN = COFFER + ("libcoffer-b16", "libcoffer-b16-ux")


def floor_of(path):
    """The floor a path is compared with: its transport's minimal server."""
    return "unix-min" if path.endswith("-ux") else "tls-min"


def load(path):
    if path is None:
        return {"results": []}
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"results": []}


def get(doc, wl, target, threads=None, max_threads=None):
    rs = [r for r in doc["results"] if r["workload"] == wl and
          r["target"] == target and r.get("ok") and
          (threads is None or r["threads"] == threads) and
          (max_threads is None or r["threads"] <= max_threads)]
    if not rs:
        return None
    return max(rs, key=lambda r: r["ops_s"])


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if v >= 100:
        return "%.0f%s" % (v, unit)
    return "%.2f%s" % (v, unit)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", action="append", default=[],
                    help="throughput JSON (repeatable; results merged)")
    ap.add_argument("--lat", help="latency JSON (1 thread, many reps)")
    ap.add_argument("--keygen")
    ap.add_argument("--find")
    ap.add_argument("--find-keys", type=int, default=0)
    ap.add_argument("--restart", type=float, default=-1)
    ap.add_argument("--rss-kib", default="")
    a = ap.parse_args()
    docs = [load(p) for p in a.ops]
    ops = {"results": [r for d in docs for r in d["results"]],
           "machine": next((d["machine"] for d in docs if "machine" in d),
                           {})}
    kg, fd, lat = load(a.keygen), load(a.find), load(a.lat)
    rows = []

    def line(name, path, measured, ok, detail):
        verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
        rows.append((name, path, measured, verdict, detail))

    def throughput(doc, wl, name, ossl_threads, min_ossl, min_shsm,
                   mb=False, paths=COFFER):
        o = get(doc, wl, "openssl", ossl_threads)
        s = get(doc, wl, "softhsm", max_threads=2)   # best of 1 and 2
        key = "mb_s" if mb else "ops_s"
        unit = " MB/s" if mb else "/s"
        floors = {f: get(doc, wl, f) for f in ("tls-min", "unix-min")}
        for f, t in floors.items():
            if t is not None and o is not None:
                line(name, f, "%s (%dt)" % (fmt(t[key], unit),
                                            t["threads"]), None,
                     "%.0f%% of openssl(%dt): a minimal %s server's "
                     "floor, not judged" % (100 * t[key] / o[key],
                                            ossl_threads,
                                            "TLS" if f == "tls-min" else
                                            "unix-socket"))
        for c in paths:
            t = floors[floor_of(c)]
            r = get(doc, wl, c)
            if r is None or o is None:
                line(name, c, "n/a", None, "no result")
                continue
            ro = r[key] / o[key]
            ok = ro >= min_ossl
            det = "%.0f%% of openssl(%dt) %s" % (ro * 100, ossl_threads,
                                                 fmt(o[key], unit))
            if min_shsm:
                rs = r[key] / s[key] if s else 0
                ok = ok and rs >= min_shsm
                det += ", %.2fx softhsm %s" % (rs, fmt(s[key], unit)
                                              if s else "n/a")
            if t is not None:
                det += ", %.0f%% of %s" % (100 * r[key] / t[key],
                                          floor_of(c))
            line(name, c, "%s (%dt)" % (fmt(r[key], unit), r["threads"]),
                 ok, det)

    throughput(ops, "rsa2048-pkcs1-sign", "RSA-2048 PKCS#1 sign >=80% "
               "ossl, >=1.5x SoftHSM", 2, 0.80, 1.5, paths=COFFER_SIGN)
    throughput(ops, "ecdsa-p256-sign", "ECDSA P-256 sign >=1.5x SoftHSM, "
               ">=35% ossl", 2, 0.35, 1.5, paths=COFFER_SIGN)
    throughput(ops, "aes256-gcm-1m", "AES-256-GCM 1 MiB >=15% ossl", 2,
               0.15, 0, mb=True)
    throughput(ops, "random-1m", "Random 1 MiB >=40% ossl 1-thread", 1,
               0.40, 0, mb=True)
    throughput(kg, "keygen-rsa2048-token", "RSA-2048 keygen >=85% ossl",
               2, 0.85, 0)

    # The latency lines come from their own run when there is one (many
    # short samples, targets interleaved per round): RSA is judged by the
    # median over rounds of Coffer's p50 minus OpenSSL's p50 in the same
    # round, which cancels the machine's drift between rounds.
    lt = lat if lat["results"] else ops
    o1 = get(lt, "rsa2048-pkcs1-sign", "openssl", 1)
    for c in COFFER:
        r = get(lt, "rsa2048-pkcs1-sign", c, 1)
        if r is None or o1 is None:
            line("RSA-2048 sign p50 (1t) <= ossl+150us", c, "n/a", None,
                 "no result")
            continue
        pairs = [b["p50_us"] - a["p50_us"] for a, b in
                 zip(o1.get("samples", []), r.get("samples", []))]
        if pairs:
            d = median(pairs)
            det = ("openssl %.0f us; median of %d per-round differences "
                   "%+.0f us (range %+.0f..%+.0f)" %
                   (o1["p50_us"], len(pairs), d, min(pairs), max(pairs)))
        else:
            d = r["p50_us"] - o1["p50_us"]
            det = "openssl %.0f us, %+.0f us" % (o1["p50_us"], d)
        line("RSA-2048 sign p50 (1t) <= ossl+150us", c,
             "%.0f us" % r["p50_us"], d <= 150, det)
    for c in COFFER:
        r = get(lt, "ecdsa-p256-sign", c, 1)
        line("ECDSA P-256 sign p50 (1t) <= 120us", c,
             "%.0f us" % r["p50_us"] if r else "n/a",
             r["p50_us"] <= 120 if r else None, "")
    for c in COFFER:
        r = get(fd, "find-label", c, 1)
        line("find by label p50 <= 300us (%d keys)" % a.find_keys, c,
             "%.0f us" % r["p50_us"] if r else "n/a",
             r["p50_us"] <= 300 if r else None,
             "p99 %.0f us" % r["p99_us"] if r else "")
    line("node restart to ACTIVE <= 10 s", "cofferd",
         "%.2f s" % a.restart if a.restart >= 0 else "n/a",
         a.restart <= 10 if a.restart >= 0 else None,
         "with the find-label keys in place")
    rss = [x for x in a.rss_kib.split(",")]
    if len(rss) == 3:
        line("resident memory (report)", "cofferd",
             "%s MiB" % fmt(int(rss[2] or 0) / 1024), None,
             "before keys %s MiB, with keys %s MiB, after restart %s MiB"
             % (fmt(int(rss[0] or 0) / 1024), fmt(int(rss[1] or 0) / 1024),
                fmt(int(rss[2] or 0) / 1024)))

    w = max(len(r[0]) for r in rows)
    m = ops.get("machine", {})
    print("\nThe bar (issue 5) — %s, %s CPUs, %s" % (
        m.get("cpu", "?"), m.get("nproc", "?"), m.get("openssl", "?")))
    print("%-*s  %-16s  %-20s  %-6s  %s" % (w, "line", "path", "measured",
                                             "", "detail"))
    for r in rows:
        print("%-*s  %-16s  %-20s  %-6s  %s" % (w, r[0], r[1], r[2], r[3],
                                                 r[4]))
    npass = sum(1 for r in rows if r[3] == "PASS")
    nfail = sum(1 for r in rows if r[3] == "FAIL")
    print("\n%d PASS, %d FAIL (each Coffer path judged separately)" %
          (npass, nfail))


if __name__ == "__main__":
    main()
