#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""coffer-bench against a real node: every workload, find-label included,
briefly through libcoffer and through the Coffer PKCS#11 module with 1
and 2 threads; every figure present, finite, non-zero and ordered (the
checks of bench/smoke.py, which runs the same on openssl and SoftHSMv2).
Never a timing assertion."""
import json
import os
import subprocess
import sys

from harness import Env, run, make_user

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bench"))
import smoke  # noqa: E402

PW = "Bench-Passw0rd-1"


def test_every_workload_on_coffer():
    env = Env("bench")
    env.node.start()
    env.ceremony()
    try:
        make_user(env, "alice", PW)
        pwf = os.path.join(env.dir, "alice.pw")
        with open(pwf, "w") as f:
            f.write(PW + "\n")
        conf = os.path.join(env.dir, "pkcs11.json")
        with open(conf, "w") as f:
            json.dump({"slots": [{"label": "coffer",
                                  "client_config": env.client_config}]}, f)
        bench = os.environ["COFFER_BENCH"]
        names = subprocess.run([bench, "--list"], check=True,
                               capture_output=True, text=True).stdout.split()
        assert "find-label" in names and len(names) >= 30, names
        out = os.path.join(env.dir, "bench.json")
        targets = ("coffer:%s,name=libcoffer,user=alice,pin-file=%s;"
                   "pkcs11:%s,name=coffer-p11,user=alice,pin-file=%s" %
                   (env.client_config, pwf, os.environ["COFFER_PKCS11"],
                    pwf))
        r = subprocess.run([bench, "--targets", targets, "--threads", "1,2",
                            "--seconds", "0.02", "--warmup", "0", "--reps",
                            "2", "--workloads", "all,find-label",
                            "--find-keys", "8", "--json", out, "--quiet"],
                           env=dict(os.environ, COFFER_PKCS11_CONF=conf),
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(out) as f:
            doc = json.load(f)
        res = smoke.check(doc, r.stdout, names, ["libcoffer", "coffer-p11"],
                          stores=("libcoffer", "coffer-p11"))
        assert len(res) == len(names) * 2 * 2, len(res)
    finally:
        env.close()


if __name__ == "__main__":
    run([test_every_workload_on_coffer])
