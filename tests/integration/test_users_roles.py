# SPDX-License-Identifier: Apache-2.0
"""Users and roles: each role is refused what it may not do."""
import json

from harness import (Env, run, RawConn, pb_field, OP_USER_CREATE, RC,
                     EXIT_OK, EXIT_AUTH)

CU = ("alice", "Alice-Passw0rd")
AU = ("oscar", "Oscar-Passw0rd")
CO2 = ("carol", "Carol-Passw0rd")


def users(env):
    out = json.loads(env.co("--json", "user", "list").stdout)
    if isinstance(out, dict):
        out = out["users"]
    return {u["username"]: u for u in out}


def test_roles():
    env = Env("roles")
    try:
        env.node.start()
        env.ceremony()
        env.co("user", "create", CU[0], "--role", "cu", new_password=CU[1])
        env.co("user", "create", AU[0], "--role", "au", new_password=AU[1])
        env.co("user", "create", CO2[0], "--role", "co", new_password=CO2[1])
        u = users(env)
        assert u["alice"]["role"] == "CU" and u["oscar"]["role"] == "AU"
        assert u["carol"]["role"] == "CO" and u["admin"]["role"] == "CO"

        # Duplicate and policy failures.
        p = env.co("user", "create", CU[0], "--role", "cu",
                   new_password=CU[1], check=False)
        assert p.returncode != EXIT_OK and "exist" in p.stderr, p.stderr
        p = env.co("user", "create", "shorty", "--role", "cu",
                   new_password="short", check=False)
        assert p.returncode != EXIT_OK and "polic" in p.stderr, p.stderr
        p = env.co("user", "create", "bad name!", "--role", "cu",
                   new_password=CU[1], check=False)
        assert p.returncode != EXIT_OK

        # CU and AU may not manage users.
        for who in (CU, AU):
            for args in (("user", "create", "mallory", "--role", "co"),
                         ("user", "delete", "admin"),
                         ("user", "lock", "admin"),
                         ("user", "unlock", "admin")):
                p = env.as_user(who[0], who[1], *args,
                                new_password="Mallory-Passw0rd", check=False)
                assert p.returncode != EXIT_OK, (who, args)
                assert "role" in p.stderr.lower() or \
                    "not permitted" in p.stderr.lower(), p.stderr
        # A CU may not change another user's password; the audit log is for
        # AU and CO only.
        p = env.as_user(CU[0], CU[1], "user", "change-password", "admin",
                        new_password="Hijack-Passw0rd", check=False)
        assert p.returncode != EXIT_OK
        p = env.as_user(CU[0], CU[1], "audit", "export", check=False)
        assert p.returncode != EXIT_OK
        env.as_user(AU[0], AU[1], "audit", "export")
        env.co("audit", "export")
        assert "mallory" not in users(env)

        # Own password change, then CO resets it.
        env.as_user(CU[0], CU[1], "user", "change-password",
                    new_password="Alice-NewPassw0rd")
        p = env.as_user(CU[0], CU[1], "user", "list", check=False)
        assert p.returncode == EXIT_AUTH, p
        env.as_user(CU[0], "Alice-NewPassw0rd", "user", "list")
        env.co("user", "change-password", CU[0], new_password=CU[1])
        env.as_user(CU[0], CU[1], "user", "list")

        # Delete: the user can no longer log in.
        env.co("user", "delete", AU[0])
        p = env.as_user(AU[0], AU[1], "user", "list", check=False)
        assert p.returncode == EXIT_AUTH
        assert "oscar" not in users(env)
    finally:
        env.close()


def test_not_logged_in_is_refused_on_the_wire():
    env = Env("nologin")
    try:
        env.node.start()
        env.ceremony()
        c = RawConn(env.node.addr)
        body = pb_field(1, 2, b"mallory") + pb_field(2, 0, 2) + \
            pb_field(3, 2, b"Mallory-Passw0rd")
        r = c.call(7, OP_USER_CREATE, body, idem=b"\x01" * 16)
        assert r["id"] == 7 and r["rc"] == RC["E_NOTLOGGEDIN"], r
        c.close()
        assert "mallory" not in users(env)
    finally:
        env.close()


if __name__ == "__main__":
    run([test_roles, test_not_logged_in_is_refused_on_the_wire])
