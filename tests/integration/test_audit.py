# SPDX-License-Identifier: Apache-2.0
"""The audit log: every login and management command is recorded, and
`coffer audit verify` detects edits, deletions, insertions, reordering."""
import json
import os

from harness import Env, run, EXIT_OK


def test_audit_chain():
    env = Env("audit")
    try:
        env.node.start()
        env.ceremony()
        env.co("user", "create", "dave", "--role", "cu",
               new_password="Dave-Passw0rd")
        env.as_user("dave", "wrong-password", "user", "list", check=False)
        env.co("user", "lock", "dave")
        env.co("user", "unlock", "dave")
        out = os.path.join(env.dir, "audit.jsonl")
        env.co("audit", "export", "--out", out)
        with open(out) as f:
            lines = [l for l in f.read().splitlines() if l]
        recs = [json.loads(l) for l in lines]
        ops = [r["op"] for r in recs]
        for op in ("cluster_initialize", "cluster_activate", "login",
                   "user_create", "user_lock", "user_unlock"):
            assert op in ops, (op, ops)
        failed = [r for r in recs if r["op"] == "login" and
                  r["user"] == "dave" and r["result"] != "OK"]
        assert failed, recs
        assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))

        env.cli("audit", "verify", out)
        env.co("audit", "verify")

        def broken(mutated, name):
            path = os.path.join(env.dir, name)
            with open(path, "w") as f:
                f.write("\n".join(mutated) + "\n")
            p = env.cli("audit", "verify", path, check=False)
            assert p.returncode != EXIT_OK, name
            return p

        edited = list(lines)
        edited[2] = edited[2].replace('"user":"', '"user":"x', 1)
        broken(edited, "edited")
        deleted = lines[:3] + lines[4:]
        broken(deleted, "deleted")
        swapped = list(lines)
        swapped[2], swapped[3] = swapped[3], swapped[2]
        broken(swapped, "swapped")
        inserted = lines[:2] + [lines[2]] + lines[2:]
        broken(inserted, "inserted")

        # Truncating the node's own file is caught online: the node's head
        # is ahead of what the file holds after restart... the node refuses
        # a broken file at start instead.
        alog = os.path.join(env.node.data_dir, "audit.log")
        rc = env.node.stop()
        assert rc == 0, "cofferd exited with %r" % rc
        with open(alog) as f:
            content = f.read().splitlines()
        content[1] = content[1].replace('"op":"', '"op":"X', 1)
        with open(alog, "w") as f:
            f.write("\n".join(content) + "\n")
        env.node.proc = None
        import subprocess
        from harness import COFFERD
        p = subprocess.run([COFFERD, "--config", env.node.config],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and "audit" in (p.stderr + p.stdout).lower()
    finally:
        env.close()


if __name__ == "__main__":
    run([test_audit_chain])
