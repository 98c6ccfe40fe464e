# SPDX-License-Identifier: Apache-2.0
"""kill -9 during a stream of user creations loses no acknowledged one."""
import json
import os
import subprocess
import threading
import time

from harness import Env, run, COFFER


def test_kill9_loses_no_acknowledged_user():
    env = Env("kill9")
    try:
        n = env.node
        n.start()
        env.ceremony()
        acked, stop = [], threading.Event()
        # The CLI's interactive shell keeps one logged-in session, so the
        # stream is fast: one create per line.
        def writer():
            e = dict(os.environ, COFFER_PASSWORD=env.admin[1],
                     COFFER_NEW_PASSWORD="Stream-Passw0rd")
            for i in range(100000):
                if stop.is_set():
                    return
                p = subprocess.run(
                    [COFFER, "--config", env.client_config, "--user", "admin",
                     "user", "create", "u%05d" % i, "--role", "cu",
                     "--new-password-env", "COFFER_NEW_PASSWORD"],
                    env=e, capture_output=True, text=True, timeout=60)
                if p.returncode == 0:
                    acked.append("u%05d" % i)
                elif not n.alive():
                    return
        t = threading.Thread(target=writer)
        t.start()
        deadline = time.time() + 60
        while len(acked) < 15 and time.time() < deadline:
            time.sleep(0.05)
        n.kill9()
        stop.set()
        t.join()
        assert len(acked) >= 15, "only %d users acknowledged" % len(acked)
        n.start()
        out = json.loads(env.co("--json", "user", "list").stdout)
        if isinstance(out, dict):
            out = out["users"]
        names = {u["username"] for u in out}
        lost = [u for u in acked if u not in names]
        assert not lost, "acknowledged but lost: %s" % lost
    finally:
        env.close()


if __name__ == "__main__":
    run([test_kill9_loses_no_acknowledged_user])
