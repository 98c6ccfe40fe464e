# SPDX-License-Identifier: Apache-2.0
"""Lockout: CU locked after 5 failures until a CO unlocks; counters survive
restart; CO brute force zeroizes (or locks, by policy)."""
import concurrent.futures
import json
import os
import time

from harness import Env, run, EXIT_OK, EXIT_AUTH

CU = ("bob", "Bob-Passw0rd-1")


def test_cu_lockout_and_unlock_survives_restart():
    env = Env("lockout")
    try:
        env.node.start()
        env.ceremony()
        env.co("user", "create", CU[0], "--role", "cu", new_password=CU[1])
        for _ in range(3):
            p = env.as_user(CU[0], "wrong-password", "user", "list",
                            check=False)
            assert p.returncode == EXIT_AUTH, p
        # The counter is replicated state: it survives a restart.
        assert env.node.stop() == 0
        env.node.start()
        for _ in range(2):
            p = env.as_user(CU[0], "wrong-password", "user", "list",
                            check=False)
            assert p.returncode == EXIT_AUTH
        # Now even the right password is refused: locked.
        p = env.as_user(CU[0], CU[1], "user", "list", check=False)
        assert p.returncode == EXIT_AUTH and "lock" in p.stderr.lower(), \
            p.stderr
        out = env.co("--json", "user", "list").stdout
        assert '"locked": true' in out or '"locked":true' in out, out
        env.co("user", "unlock", CU[0])
        env.as_user(CU[0], CU[1], "user", "list")
        # A success resets the counter: 4 failures do not lock.
        for _ in range(4):
            env.as_user(CU[0], "wrong", "user", "list", check=False)
        env.as_user(CU[0], CU[1], "user", "list")
        for _ in range(4):
            env.as_user(CU[0], "wrong", "user", "list", check=False)
        env.as_user(CU[0], CU[1], "user", "list")
        # Explicit lock by a CO.
        env.co("user", "lock", CU[0])
        p = env.as_user(CU[0], CU[1], "user", "list", check=False)
        assert p.returncode == EXIT_AUTH
    finally:
        env.close()


def test_co_brute_force_zeroizes():
    env = Env("zeroize", node_extra={"lockout": {"co_max_failures": 3}})
    try:
        n = env.node
        n.start()
        env.ceremony()
        env.co("user", "create", CU[0], "--role", "cu", new_password=CU[1])
        for _ in range(3):
            p = env.as_user("admin", "not-the-password", "user", "list",
                            check=False)
            assert p.returncode != EXIT_OK
        info = env.cli_json("--server", n.addr, "--ca", env.ca_cert(),
                            "cluster", "info", config=False, check=False)
        assert info["state"] == "ZEROIZED", info
        # Nothing is served but status, for every user.
        for who in (env.admin, CU):
            p = env.as_user(who[0], who[1], "user", "list", check=False)
            assert p.returncode != EXIT_OK
        # Secrets are gone from disk; the audit log is kept.
        dd = n.data_dir
        # The wipe runs on the node's loop once raft has closed: allow it a
        # moment to finish.
        deadline = time.time() + 10
        while time.time() < deadline and \
                os.path.exists(os.path.join(dd, "raft")):
            time.sleep(0.05)
        assert os.path.exists(os.path.join(dd, "ZEROIZED"))
        assert not os.path.exists(os.path.join(dd, "cluster-key.sealed"))
        assert not os.path.exists(os.path.join(dd, "seal.key"))
        assert not os.path.exists(os.path.join(dd, "raft"))
        with open(os.path.join(dd, "audit.log")) as f:
            audit = f.read()
        assert "login" in audit
        # It stays zeroized across a restart.
        assert n.stop() == 0
        n.start()
        fp2 = env.cli("cluster", "fingerprint", "--server", n.addr,
                      config=False).stdout.strip()
        info = env.cli_json("--server", n.addr, "--pin", fp2, "cluster",
                            "info", config=False, check=False)
        assert info["state"] == "ZEROIZED", info
        assert n.alive()
    finally:
        env.close()


def test_co_lock_policy():
    env = Env("colock", node_extra={"lockout": {"co_max_failures": 2,
                                                "co_action": "lock"}})
    try:
        env.node.start()
        env.ceremony()
        env.co("user", "create", "carol", "--role", "co",
               new_password="Carol-Passw0rd")
        for _ in range(2):
            env.as_user("admin", "wrong", "user", "list", check=False)
        p = env.co("user", "list", check=False)
        assert p.returncode == EXIT_AUTH and "lock" in p.stderr.lower()
        assert env.info()["state"] == "ACTIVE"
        env.as_user("carol", "Carol-Passw0rd", "user", "unlock", "admin")
        env.co("user", "list")
    finally:
        env.close()


def _user(env, name):
    users = env.co("--json", "user", "list").stdout
    for u in json.loads(users)["users"]:
        if u["username"] == name:
            return u
    raise AssertionError("no user %s in %s" % (name, users))


def test_concurrent_logins():
    """Sixteen correct CO logins at once (a connection pool, a web server's
    workers starting) under the default zeroize policy: every one succeeds,
    nothing is locked or zeroized. Then twenty concurrent wrong guesses at a
    CU: exactly the limit of them is checked and counted, the CU is locked,
    the rest are refused without a check."""
    env = Env("concurrent")
    try:
        env.node.start()
        env.ceremony()
        env.co("user", "create", CU[0], "--role", "cu", new_password=CU[1])
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            ps = list(ex.map(lambda _: env.co("user", "list", check=False),
                             range(16)))
        for p in ps:
            assert p.returncode == EXIT_OK, p.stderr
        assert env.info()["state"] == "ACTIVE"
        admin = _user(env, "admin")
        assert admin["failures"] == 0 and not admin["locked"], admin

        with concurrent.futures.ThreadPoolExecutor(20) as ex:
            ps = list(ex.map(lambda _: env.as_user(
                CU[0], "wrong-password", "user", "list", check=False),
                range(20)))
        for p in ps:
            assert p.returncode == EXIT_AUTH, (p.returncode, p.stderr)
        bob = _user(env, CU[0])
        assert bob["locked"] and bob["failures"] == 5, bob
        p = env.as_user(CU[0], CU[1], "user", "list", check=False)
        assert p.returncode == EXIT_AUTH and "lock" in p.stderr.lower()
        assert env.info()["state"] == "ACTIVE"
    finally:
        env.close()


if __name__ == "__main__":
    run([test_cu_lockout_and_unlock_survives_restart,
         test_co_brute_force_zeroizes, test_co_lock_policy,
         test_concurrent_logins])
