# SPDX-License-Identifier: Apache-2.0
"""Limits and health of a node (issue 3): the token object limit
("max_objects") fills, fails with a clear error, frees a slot on delete
and survives a restart; GetInfo reports self-test results, DRBG and
entropy health, object counts and the limit; a failing power-up self-test
puts the node in ERROR, where it serves status only."""
import json
import os

from harness import (Env, run, make_user, RawConn, pb_parse, OP_GET_INFO,
                     EXIT_FAIL)

PW = "Alice-Passw0rd"
LIMIT = 50
ST_ACTIVE, ST_ERROR = 3, 5


def raw_info(env):
    """GetInfoResp fields over a raw connection (no login: status is
    served to anyone)."""
    c = RawConn(env.node.addr)
    try:
        r = c.call(7, OP_GET_INFO)
    finally:
        c.close()
    assert r is not None and r["rc"] == 0, r
    f = pb_parse(r["fields"][16][0])

    def num(n):
        return f.get(n, [0])[0]

    def text(n):
        return f.get(n, [b""])[0].decode()

    return {"state": num(1), "error_detail": text(11), "selftest": text(13),
            "selftest_count": num(14), "entropy_health": text(15),
            "drbg_health": text(16), "token_objects": num(17),
            "max_objects": num(18), "session_objects": num(19)}


def healthy(info, tokens, limit=LIMIT):
    assert info["state"] == ST_ACTIVE, info
    assert info["selftest"] == "passed", info
    assert info["selftest_count"] >= 20, info
    assert info["entropy_health"] == "ok", info
    assert info["drbg_health"] == "ok", info
    assert info["max_objects"] == limit, info
    assert info["token_objects"] == tokens, info


def test_object_limit():
    env = Env("limits", node_extra={"max_objects": LIMIT})
    try:
        env.node.start()
        env.ceremony()
        alice = make_user(env, "alice", PW)
        healthy(raw_info(env), 0)
        # 24 EC key pairs (2 objects each) and 1 AES key: 49 of 50.
        for i in range(24):
            alice.run("key", "generate-ec", "--curve", "p256", "--label",
                      "ec%d" % i)
        alice.run("key", "generate-aes", "--bits", 256, "--label", "aes0")
        healthy(raw_info(env), 49)
        # A pair needs two slots: refused whole, nothing half-made.
        p = alice.fails("key", "generate-ec", "--curve", "p256", "--label",
                        "toomuch")
        assert p.returncode == EXIT_FAIL, p.returncode
        assert "object limit" in p.stderr, p.stderr
        healthy(raw_info(env), 49)
        alice.run("key", "generate-aes", "--bits", 128, "--label", "last")
        healthy(raw_info(env), 50)
        for args in (("generate-aes", "--bits", 128),
                     ("generate-secret", "--bytes", 32)):
            p = alice.fails("key", *args, "--label", "over")
            assert p.returncode == EXIT_FAIL, p.returncode
            assert "object limit" in p.stderr and "50" in p.stderr, \
                p.stderr
        assert alice.run("key", "list", "--label", "over",
                         check=False).stdout.count("over") == 0
        # Session objects are not token objects: they are limited per
        # client instance (16384), not by max_objects.
        alice.run("key", "generate-aes", "--bits", 128, "--label", "sess",
                  "--session")
        # The node keeps serving keys it has.
        data = os.path.join(env.dir, "data")
        with open(data, "wb") as f:
            f.write(b"limits")
        alice.run("crypto", "sign", "--label", "ec0", "--mech",
                  "ecdsa-sha256", "--in", data, "--out", data + ".sig")
        # Deleting one frees one slot, exactly.
        alice.run("key", "delete", "aes0")
        healthy(raw_info(env), 49)
        alice.run("key", "generate-aes", "--bits", 128, "--label", "again")
        alice.fails("key", "generate-aes", "--bits", 128, "--label",
                    "over")
        # The limit and the objects survive a restart.
        assert env.node.stop() == 0
        env.node.start()
        healthy(raw_info(env), 50)
        # The CLI shows the same through libcoffer's coffer_get_info.
        j = env.cli_json("cluster", "info")
        assert (j["token_objects"], j["max_objects"]) == (50, LIMIT), j
        assert (j["selftest"], j["entropy_health"], j["drbg_health"]) == \
            ("passed", "ok", "ok"), j
        assert j["selftest_count"] >= 20 and j["session_objects"] == 0, j
        assert env.cli_json("hsm", "info")["token_objects"] == 50
        text = env.cli("cluster", "info").stdout
        assert "50 / %d" % LIMIT in text and "passed" in text, text
        p = alice.fails("key", "generate-aes", "--bits", 128, "--label",
                        "over")
        assert "object limit" in p.stderr, p.stderr
        # A higher limit in the configuration applies at the next start.
        env.node.stop()
        with open(env.node.config) as f:
            cfg = json.load(f)
        cfg["max_objects"] = LIMIT + 2
        with open(env.node.config, "w") as f:
            json.dump(cfg, f)
        env.node.start()
        healthy(raw_info(env), 50, LIMIT + 2)
        alice.run("key", "generate-ec", "--curve", "p256", "--label",
                  "fits")
        healthy(raw_info(env), 52, LIMIT + 2)
    finally:
        env.close()


def test_selftest_failure_is_error():
    env = Env("stfail")
    try:
        env.node.start()
        env.ceremony()
        alice = make_user(env, "alice", PW)
        alice.run("key", "generate-aes", "--bits", 128, "--label", "k")
        healthy(raw_info(env), 1, 16666)
        env.node.stop()
        os.environ["COFFER_SELFTEST_FORCE_FAIL"] = "AES-GCM"
        try:
            env.node.start()
        finally:
            del os.environ["COFFER_SELFTEST_FORCE_FAIL"]
        info = raw_info(env)
        assert info["state"] == ST_ERROR, info
        assert info["selftest"] == "failed: AES-GCM", info
        assert "self-test failed: AES-GCM" in info["error_detail"], info
        # Status only: the CLI sees ERROR through a pinned connection,
        # and nothing else is served.
        fp = env.cli("cluster", "fingerprint", "--server", env.node.addr,
                     config=False).stdout.strip()
        j = env.cli_json("--server", env.node.addr, "--pin", fp, "cluster",
                         "info", config=False)
        assert j["state"] == "ERROR", j
        assert "self-test failed" in j.get("error_detail", ""), j
        assert j["selftest"] == "failed: AES-GCM", j
        alice.fails("key", "list")
        assert env.node.alive()
        # Passing self-tests at the next start: back to ACTIVE, key kept.
        env.node.stop()
        env.node.start()
        healthy(raw_info(env), 1, 16666)
        assert "k" in alice.run("key", "list").stdout
    finally:
        env.close()


if __name__ == "__main__":
    run([test_object_limit, test_selftest_failure_is_error])
