#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench smoke test: coffer-bench runs every workload briefly on the
openssl target, the tls and unix floors and, when SoftHSMv2 is installed,
on a SoftHSMv2 token in a temporary directory; every figure must be
present, finite and non-zero, and the latency percentiles ordered. Never a
timing assertion.

usage: smoke.py COFFER_BENCH WORKDIR
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys

SOFTHSM_PATHS = ["/usr/lib/softhsm/libsofthsm2.so",
                 "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"]


class SmokeFailure(AssertionError):
    pass


def fail(msg):
    raise SmokeFailure(msg)


def softhsm_env(work):
    mod = next((p for p in SOFTHSM_PATHS if os.path.exists(p)), None)
    util = shutil.which("softhsm2-util")
    if mod is None or util is None:
        return None, None
    d = os.path.join(work, "softhsm")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "tokens"))
    conf = os.path.join(d, "softhsm2.conf")
    with open(conf, "w") as f:
        f.write("directories.tokendir = %s/tokens\n"
                "objectstore.backend = file\nlog.level = ERROR\n" % d)
    env = dict(os.environ, SOFTHSM2_CONF=conf)
    subprocess.run([util, "--init-token", "--free", "--label", "smoke",
                    "--so-pin", "12345678", "--pin", "1234"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return mod, env


def check(doc, stdout, names, targets, threads=(1, 2), samples=2,
          stores=()):
    """Every (workload, target, threads) result present, ok and sane.
    targets: result target names; stores: those with an object store
    (find-label must succeed there and fail elsewhere). Exits on the
    first failure."""
    if doc["machine"]["nproc"] < 1:
        fail("machine.nproc")
    res = doc["results"]
    seen = set()
    for x in res:
        key = (x["workload"], x["target"], x["threads"])
        seen.add(key)
        if x["workload"] == "find-label" and x["target"] not in stores:
            if x["ok"]:
                fail("%s has no object store for find-label" % x["target"])
            continue
        if not x["ok"]:
            fail("%s: %s" % (key, x.get("error")))
        for k in ("ops_s", "p50_us", "p99_us", "p999_us"):
            v = x[k]
            if not (isinstance(v, (int, float)) and math.isfinite(v)
                    and v > 0):
                fail("%s: %s = %r" % (key, k, v))
        if x["ops"] < samples:  # >= 1 op per sample
            fail("%s: ops = %r" % (key, x["ops"]))
        if not x["p50_us"] <= x["p99_us"] <= x["p999_us"]:
            fail("%s: percentiles out of order" % (key,))
        if x["bytes"] > 0 and not x["mb_s"] > 0:
            fail("%s: mb_s = %r" % (key, x["mb_s"]))
        if len(x["samples"]) != samples:
            fail("%s: %d samples" % (key, len(x["samples"])))
        if x["target"] != "openssl" and x["workload"] != "find-label" \
                and "openssl" in targets and not x["vs_openssl"] > 0:
            fail("%s: vs_openssl = %r" % (key, x["vs_openssl"]))
    for t in targets:
        for n in names:
            for th in threads:
                if (n, t, th) not in seen:
                    fail("missing result %s" % ((n, t, th),))
    # The summary table names every workload.
    for n in names:
        if n not in stdout:
            fail("summary lacks %s" % n)
    return res


def check_machine(bench):
    """--machine prints a positive, finite figure per line (the two-CPU
    line may say the mask has one CPU) and exits 0."""
    r = subprocess.run([bench, "--machine"], capture_output=True,
                       text=True, timeout=120)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        fail("--machine exited %d: %s" % (r.returncode, r.stderr))
    want = ["system call", "another process, same CPU",
            "another process, other CPU", "TCP 127.0.0.1, same CPU",
            "TCP 127.0.0.1, unpinned"]
    lines = r.stdout.splitlines()
    for w in want:
        got = [ln for ln in lines if w in ln]
        if len(got) != 1:
            fail("--machine: no line for %r" % w)
        if "other CPU" in w and "only one CPU" in got[0]:
            continue
        m = re.search(r"\s([0-9]+\.[0-9]+) us", got[0])
        if m is None or not (0 < float(m.group(1)) < 1e6):
            fail("--machine: bad figure in %r" % got[0])


def main():
    bench, work = sys.argv[1], sys.argv[2]
    check_machine(bench)
    os.makedirs(work, exist_ok=True)
    names = subprocess.run([bench, "--list"], check=True,
                           capture_output=True, text=True).stdout.split()
    if len(names) < 30:
        fail("--list: %d workloads" % len(names))
    targets = ["openssl", "tls", "unix"]
    env = dict(os.environ)
    mod, shenv = softhsm_env(work)
    if mod is not None:
        targets.append("pkcs11:%s,name=softhsm,token=smoke,pin=1234" % mod)
        env = shenv
    else:
        print("note: SoftHSMv2 not installed; no pkcs11 target")
    # Under ASan, SoftHSMv2's own leaks are not ours (lsan.supp).
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "lsan.supp")
    env["LSAN_OPTIONS"] = ":".join(filter(None, [
        env.get("LSAN_OPTIONS"), "suppressions=" + supp,
        "fast_unwind_on_malloc=0"]))
    out = os.path.join(work, "smoke.json")
    cmd = [bench, "--targets", ";".join(targets), "--threads", "1,2",
           "--seconds", "0.02", "--warmup", "0", "--reps", "2",
           "--workloads", "all,find-label", "--find-keys", "8",
           "--json", out, "--quiet"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=500)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        fail("coffer-bench exited %d" % r.returncode)
    with open(out) as f:
        doc = json.load(f)
    res = check(doc, r.stdout, names,
                [{"openssl": "openssl", "tls": "tls-min",
                  "unix": "unix-min"}.get(t, "softhsm") for t in targets],
                stores=("softhsm",))
    print("ok: %d results, targets %s" % (len(res), ", ".join(
        x["name"] for x in doc["targets"])))


if __name__ == "__main__":
    try:
        main()
    except SmokeFailure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
