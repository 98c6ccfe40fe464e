# SPDX-License-Identifier: Apache-2.0
"""Stress for clean stops (not part of ctest: slow, and it only fails on a
rare interleaving). Repeats test_audit's flow on a fresh node: start,
ceremony, user create, failed login, lock, unlock, audit export, online
audit verify, SIGTERM; reports every non-zero exit (with the node's
stderr, where cofferd's fault report lands) and every time raftnode.c's
guard against libraft 0.15's second io close callback fired.

    COFFERD=build/dev/src/hsm/cofferd COFFER=build/dev/src/cli/coffer \\
    COFFER_TEST_TMP=/tmp/stress python3 tests/integration/stress_stop.py 200

Run several at once, beside CPU and fsync load, to reach the race (it
took about 1,500 stops before the fix)."""
import os
import sys

from harness import Env


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    fails = guards = 0
    for i in range(rounds):
        env = Env("stress")
        try:
            env.node.start()
            env.ceremony()
            env.co("user", "create", "dave", "--role", "cu",
                   new_password="Dave-Passw0rd")
            env.as_user("dave", "wrong-password", "user", "list",
                        check=False)
            env.co("user", "lock", "dave")
            env.co("user", "unlock", "dave")
            env.co("audit", "export", "--out",
                   os.path.join(env.dir, "audit.jsonl"))
            env.co("audit", "verify")
            rc = env.node.stop()
            with open(env.node.log_file, errors="replace") as f:
                if "fired again" in f.read():
                    guards += 1
                    print("round %d: libraft's second close callback "
                          "ignored" % i, flush=True)
            if rc != 0:
                fails += 1
                with open(env.node.out_file, errors="replace") as f:
                    print("round %d: cofferd exited with %d\n%s" %
                          (i, rc, f.read()[-4000:]), flush=True)
        finally:
            env.close()
    print("%d rounds, %d bad exits, %d second close callbacks ignored" %
          (rounds, fails, guards))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
