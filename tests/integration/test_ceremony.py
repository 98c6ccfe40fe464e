# SPDX-License-Identifier: Apache-2.0
"""The initialization ceremony through the CLI, end to end."""
import os

from harness import Env, run, EXIT_CONN, EXIT_OK


def state_of(env, *server_args):
    info = env.cli_json(*server_args, "cluster", "info", config=False)
    return info["state"]


def test_full_ceremony_and_restart():
    env = Env("ceremony")
    try:
        n = env.node
        n.start()
        fp = n.fingerprint()
        assert len(fp) == 64
        pin = ("--server", n.addr, "--pin", fp)
        assert state_of(env, *pin) == "UNINITIALIZED"

        # A wrong pin is refused: no blind trust.
        bad = env.cli(*("--server", n.addr, "--pin", "00" * 32), "cluster",
                      "info", config=False, check=False)
        assert bad.returncode == EXIT_CONN, bad

        # Nothing but the ceremony before activation: PRECO cannot manage
        # users, and a wrong PRECO password is refused.
        env.ceremony(activate=False)
        trust = ("--server", n.addr, "--ca", env.ca_cert())
        assert state_of(env, *trust) == "INITIALIZED"
        # After initialization the bootstrap pin no longer matches: clients
        # verify against the trust anchor.
        old = env.cli(*pin, "cluster", "info", config=False, check=False)
        assert old.returncode == EXIT_CONN, old
        p = env.as_user("preco", env.preco, "user", "list", check=False)
        assert p.returncode != EXIT_OK
        p = env.as_user("preco", "wrong-password", "user", "list",
                        check=False)
        assert p.returncode != EXIT_OK

        env.cli("cluster", "activate", "--user", "preco", "--co-user",
                "admin", password=env.preco, new_password=env.admin[1])
        assert env.info()["state"] == "ACTIVE"
        assert not os.path.exists(os.path.join(n.data_dir, "preco-password"))
        # The PRECO is gone; the CO works.
        p = env.as_user("preco", env.preco, "user", "list", check=False)
        assert p.returncode != EXIT_OK
        users = env.co("--json", "user", "list").stdout
        assert "admin" in users and "preco" not in users

        # Activation cannot be repeated.
        p = env.cli("cluster", "activate", "--user", "admin", "--co-user",
                    "x", password=env.admin[1], new_password="Another-Pw-123",
                    check=False)
        assert p.returncode != EXIT_OK

        assert n.stop() == 0
        n.start()
        assert env.info()["state"] == "ACTIVE"
        env.co("user", "list")
    finally:
        env.close()


def test_initialize_rejects_foreign_certificate():
    env = Env("foreigncert")
    try:
        n = env.node
        n.start()
        fp = n.fingerprint()
        env.cli("ca", "create", "--out", env.ca_dir, config=False)
        other = os.path.join(env.dir, "other-ca")
        env.cli("ca", "create", "--out", other, config=False)
        csr = os.path.join(env.dir, "c.csr")
        crt = os.path.join(env.dir, "c.crt")
        env.cli("cluster", "init", "--server", n.addr, "--pin", fp, "--out",
                csr, config=False)
        env.cli("ca", "sign", "--ca", other, "--csr", csr, "--out", crt,
                config=False)
        # Signed by another CA than the trust anchor given: refused.
        p = env.cli("cluster", "initialize", "--server", n.addr, "--pin", fp,
                    "--user", "preco", "--cert", crt, "--ca", env.ca_cert(),
                    password=n.preco_password(), config=False, check=False)
        assert p.returncode != EXIT_OK, p
        assert state_of(env, "--server", n.addr, "--pin", fp) == \
            "UNINITIALIZED"
    finally:
        env.close()


if __name__ == "__main__":
    run([test_full_ceremony_and_restart,
         test_initialize_rejects_foreign_certificate])
