# SPDX-License-Identifier: Apache-2.0
"""A planted password never appears in any log, audit record or data file
(the raft log and snapshots are sealed)."""
import os

from harness import Env, run, CANARY_PASSWORD


def test_canary_password_not_on_disk():
    env = Env("canary")
    try:
        n = env.node
        n.start()
        env.ceremony()
        env.co("user", "create", "canary", "--role", "cu",
               new_password=CANARY_PASSWORD)
        env.as_user("canary", CANARY_PASSWORD, "user", "list")
        env.as_user("canary", CANARY_PASSWORD + "x", "user", "list",
                    check=False)
        env.co("user", "change-password", "canary",
               new_password=CANARY_PASSWORD + "2")
        # A CLI failure must not echo it either.
        p = env.co("user", "create", "canary", "--role", "cu",
                   new_password=CANARY_PASSWORD, check=False)
        assert CANARY_PASSWORD not in p.stdout + p.stderr
        # Force a snapshot-free restart so the log is replayed too.
        assert n.stop() == 0
        n.start()
        env.co("user", "list")
        needles = [CANARY_PASSWORD.encode(), env.admin[1].encode()]
        hits = []
        for root, _, files in os.walk(env.dir):
            for fn in files:
                path = os.path.join(root, fn)
                if path.endswith(".password"):
                    continue
                with open(path, "rb") as f:
                    data = f.read()
                for nd in needles:
                    if nd in data:
                        hits.append((path, nd))
        assert not hits, hits
        # And the plaintext of a sealed log entry (a user name we created)
        # is not in the raft files.
        raft = os.path.join(n.data_dir, "raft")
        for root, _, files in os.walk(raft):
            for fn in files:
                with open(os.path.join(root, fn), "rb") as f:
                    assert b"canary" not in f.read(), fn
    finally:
        env.close()


if __name__ == "__main__":
    run([test_canary_password_not_on_disk])
