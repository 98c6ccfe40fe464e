# SPDX-License-Identifier: Apache-2.0
"""Keys (issue 3) through the real CLI and cofferd: generation of every key
type, attributes, authorization, persistence, kill -9 during generation,
wrap/unwrap (checked with the openssl CLI on the other side)."""
import json
import os
import subprocess
import threading
import time

from harness import (Env, run, openssl, make_user, User, COFFER, EXIT_OK,
                     EXIT_USAGE)

PW = {"alice": "Alice-Passw0rd", "bob": "Bob-Passw0rd-2",
      "oscar": "Oscar-Passw0rd", "carol": "Carol-Passw0rd"}


def setup(name):
    env = Env(name)
    env.node.start()
    env.ceremony()
    return env


def path(env, name):
    return os.path.join(env.dir, name)


def write(env, name, data):
    p = path(env, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def read(p):
    with open(p, "rb") as f:
        return f.read()


def objects(user, *filt):
    out = user.json("key", "list", *filt)
    return {o["handle"]: o for o in out["objects"]}


def test_generate_every_type():
    env = setup("keygen")
    try:
        alice = make_user(env, "alice", PW["alice"])
        made = {}
        r = alice.json("key", "generate-rsa", "--bits", 2048,
                       "--label", "rsa2048", "--id", "0a0b")
        assert r["public"] != r["private"], r
        made["rsa2048"] = (r["public"], r["private"])
        r = alice.json("key", "generate-rsa", "--bits", 3072,
                       "--exponent", "0x10001", "--label", "rsa3072")
        made["rsa3072"] = (r["public"], r["private"])
        for curve in ("p224", "p256", "p384", "p521", "secp256k1"):
            r = alice.json("key", "generate-ec", "--curve", curve,
                           "--label", "ec-" + curve)
            made["ec-" + curve] = (r["public"], r["private"])
        for curve in ("ed25519", "ed448"):
            r = alice.json("key", "generate-ed", "--curve", curve,
                           "--label", curve)
            made[curve] = (r["public"], r["private"])
        for bits in (128, 192, 256):
            r = alice.json("key", "generate-aes", "--bits", bits,
                           "--label", "aes%d" % bits)
            made["aes%d" % bits] = (r["handle"],)
        for n in (1, 32, 800):
            r = alice.json("key", "generate-secret", "--bytes", n,
                           "--label", "gs%d" % n)
            made["gs%d" % n] = (r["handle"],)

        objs = objects(alice)
        handles = [h for hs in made.values() for h in hs]
        assert len(set(handles)) == len(handles), "handles not unique"
        for h in handles:
            assert h in objs, "key %d not listed" % h
        want_size = {"rsa2048": "2048", "rsa3072": "3072",
                     "aes128": "128", "aes192": "192", "aes256": "256",
                     "gs1": "8", "gs32": "256", "gs800": "6400"}
        for label, hs in made.items():
            for h in hs:
                o = objs[h]
                assert o["label"] == label, o
                assert o["owner"] == "alice", o
                assert o["token"] is True, o
                if label in want_size:
                    assert o["size"] == want_size[label], (label, o)
                elif label.startswith("ec-"):
                    assert o["size"] == label[3:], (label, o)
                else:
                    assert o["size"] == label, (label, o)
        pub, priv = made["rsa2048"]
        assert objs[pub]["class"] == "public" and \
            objs[priv]["class"] == "private"
        assert objs[pub]["key-type"] == "rsa" and objs[pub]["id"] == "0a0b"
        assert objs[made["ed25519"][1]]["key-type"] == "ed"
        assert objs[made["ec-p256"][1]]["key-type"] == "ec"
        assert objs[made["aes256"][0]]["key-type"] == "aes"
        assert objs[made["gs32"][0]]["key-type"] == "generic"

        # Filters.
        assert set(objects(alice, "--label", "aes192")) == \
            {made["aes192"][0]}
        assert set(objects(alice, "--id", "0a0b")) == set(made["rsa2048"])
        privs = objects(alice, "--class", "private")
        assert all(o["class"] == "private" for o in privs.values())
        assert len(privs) == 9, privs

        # Attributes of generated keys: the standard's rules.
        for label in ("rsa2048", "ec-p256", "ed25519", "aes256", "gs32"):
            h = made[label][-1]
            a = alice.json("key", "show", h)["attributes"]
            assert a["sensitive"] is True and a["extractable"] is False, a
            assert a["always-sensitive"] is True, a
            assert a["never-extractable"] is True, a
            assert a["local"] is True, a
            assert "value" not in a or a["value"] is None, \
                "sensitive value returned: %s" % a
        a = alice.json("key", "show", "aes256")["attributes"]
        assert a["value-len"] == 32 and a["class"] == "secret", a
        assert len(a["check-value"]) == 6, a
        a = alice.json("key", "show", made["rsa2048"][0])["attributes"]
        assert a["public-exponent"] == "010001" and \
            len(a["modulus"]) == 512, a
        a = alice.json("key", "show", made["rsa3072"][0])["attributes"]
        assert a["public-exponent"] == "010001", a
        a = alice.json("key", "show", made["ec-p384"][0])["attributes"]
        assert a["curve"] == "p384", a

        # Exported public keys parse with openssl and are what was asked.
        for label, want in (("rsa2048", b"2048 bit"),
                            ("ec-p256", b"prime256v1"),
                            ("ec-secp256k1", b"secp256k1"),
                            ("ec-p521", b"secp521r1"),
                            ("ed25519", b"ED25519"), ("ed448", b"ED448")):
            pem = path(env, label + ".pem")
            alice.run("key", "export-public", label, "--out", pem)
            assert read(pem).startswith(b"-----BEGIN PUBLIC KEY-----")
            txt = openssl("pkey", "-pubin", "-in", pem, "-text",
                          "-noout").stdout
            assert want in txt, (label, txt)
        der = path(env, "ed.der")
        alice.run("key", "export-public", "ed25519", "--der", "--out", der)
        openssl("pkey", "-pubin", "-inform", "DER", "-in", der, "-noout")
        assert len(read(der)) == 44

        # Out-of-range sizes are refused by the node with a precise error;
        # the node keeps serving.
        for args in (("generate-rsa", "--bits", 1024),
                     ("generate-rsa", "--bits", 2050),
                     ("generate-rsa", "--bits", 8192),
                     ("generate-aes", "--bits", 64),
                     ("generate-secret", "--bytes", 801),
                     ("generate-secret", "--bytes", 0)):
            p = alice.fails("key", *args, "--label", "bad")
            assert "size" in p.stderr or "range" in p.stderr or \
                "length" in p.stderr or "invalid" in p.stderr, \
                (args, p.stderr)
        p = alice.fails("key", "generate-rsa", "--bits", 2048,
                        "--exponent", 3, "--label", "bad")
        p = alice.fails("key", "generate-ec", "--curve", "p192",
                        "--label", "bad")
        assert p.returncode == EXIT_USAGE
        p = alice.fails("key", "generate-aes", "--bits", 256, "--label",
                        "x", "--attr", "nonsense=1")
        assert p.returncode == EXIT_USAGE and "unknown attribute" in \
            p.stderr, p.stderr
        assert not objects(alice, "--label", "bad")
        alice.run("crypto", "random", "--bytes", 16, "--hex")
    finally:
        env.close()


def test_authorization():
    env = setup("keyauthz")
    try:
        alice = make_user(env, "alice", PW["alice"])
        bob = make_user(env, "bob", PW["bob"])
        oscar = make_user(env, "oscar", PW["oscar"], role="au")
        co = User(env, env.admin[0], env.admin[1])
        k = alice.json("key", "generate-aes", "--bits", 256, "--label",
                       "shared-k", "--extractable")["handle"]
        w = alice.json("key", "generate-aes", "--bits", 256, "--label",
                       "wrapper")["handle"]
        bobs = bob.json("key", "generate-aes", "--bits", 128, "--label",
                        "bobs")["handle"]
        data = write(env, "data", b"0123456789abcdef" * 4)
        ct = path(env, "ct")
        pt = path(env, "pt")

        # Not shared: bob can neither find, use, change nor delete it.
        assert k not in objects(bob) and w not in objects(bob)
        assert bobs not in objects(alice)
        assert not objects(bob, "--label", "shared-k")
        for args in (("crypto", "encrypt", "--key", k, "--mech", "aes-ecb",
                      "--in", data, "--out", ct),
                     ("key", "show", k),
                     ("key", "delete", k),
                     ("key", "set-attribute", k, "label=stolen"),
                     ("key", "share", k, "bob"),
                     ("key", "wrap", "--wrapping-key", bobs, "--key", k,
                      "--mech", "aes-kw", "--out", ct)):
            bob.fails(*args)
        p = bob.fails("crypto", "encrypt", "--label", "shared-k", "--mech",
                      "aes-ecb", "--in", data, "--out", ct)
        assert "not found" in p.stderr, p.stderr

        # CO and AU may not use, make or see key material.
        for who in (co, oscar):
            who.fails("crypto", "encrypt", "--key", k, "--mech", "aes-ecb",
                      "--in", data, "--out", ct)
            who.fails("key", "generate-aes", "--bits", 128, "--label", "x")
            who.fails("key", "delete", k)
            who.fails("key", "wrap", "--wrapping-key", w, "--key", k,
                      "--mech", "aes-kw", "--out", ct)

        # Shared: bob may use it, nothing more.
        alice.run("key", "share", k, "bob")
        assert k in objects(bob)
        o = objects(alice)[k]
        assert "bob" in (o.get("shared") or ""), o
        bob.run("crypto", "encrypt", "--key", k, "--mech", "aes-ecb",
                "--in", data, "--out", ct)
        bob.run("crypto", "decrypt", "--key", "shared-k", "--mech",
                "aes-ecb", "--in", ct, "--out", pt)
        assert read(pt) == read(data)
        for args in (("key", "delete", k),
                     ("key", "set-attribute", k, "label=mine"),
                     ("key", "share", k, "bob"),
                     ("key", "unshare", k, "bob"),
                     ("key", "wrap", "--wrapping-key", bobs, "--key", k,
                      "--mech", "aes-kw", "--out", ct)):
            bob.fails(*args)
        assert objects(alice)[k]["label"] == "shared-k"
        # The owner may still do all of it.
        alice.run("key", "wrap", "--wrapping-key", w, "--key", k, "--mech",
                  "aes-kw", "--out", ct)
        alice.run("key", "set-attribute", k, "label=renamed")
        assert objects(alice)[k]["label"] == "renamed"

        # Unshared: gone for bob again.
        alice.run("key", "unshare", k, "bob")
        assert k not in objects(bob)
        bob.fails("crypto", "encrypt", "--key", k, "--mech", "aes-ecb",
                  "--in", data, "--out", ct)
        alice.run("key", "delete", k)
        assert k not in objects(alice)
        alice.fails("key", "show", k)
    finally:
        env.close()


def test_wrap_unwrap():
    env = setup("wrap")
    try:
        alice = make_user(env, "alice", PW["alice"])
        wk = alice.json("key", "generate-aes", "--bits", 256, "--label",
                        "kek")["handle"]
        tk = alice.json("key", "generate-aes", "--bits", 256, "--label",
                        "target", "--extractable")["handle"]
        nx = alice.json("key", "generate-aes", "--bits", 256, "--label",
                        "stuck")["handle"]
        data = write(env, "data", os.urandom(64))
        iv = "000102030405060708090a0b0c0d0e0f"

        def ct_of(key):
            out = path(env, "ct-%s" % key)
            alice.run("crypto", "encrypt", "--key", key, "--mech",
                      "aes-cbc", "--iv", iv, "--in", data, "--out", out)
            return read(out)

        ref = ct_of(tk)
        for mech in ("aes-kw", "aes-kwp", "aes-gcm"):
            blob = path(env, "wrapped-" + mech)
            alice.run("key", "wrap", "--wrapping-key", "kek", "--key",
                      "target", "--mech", mech, "--out", blob)
            n = len(read(blob))
            want = {"aes-kw": 40, "aes-kwp": 40, "aes-gcm": 12 + 32 + 16}
            assert n == want[mech], (mech, n)
            r = alice.json("key", "unwrap", "--unwrapping-key", wk,
                           "--in", blob, "--mech", mech, "--class",
                           "secret", "--key-type", "aes", "--label",
                           "back-" + mech)
            assert ct_of(r["handle"]) == ref, mech
            a = alice.json("key", "show", r["handle"])["attributes"]
            assert a["always-sensitive"] is False, a
            assert a["never-extractable"] is False, a
            assert a["local"] is False, a
            assert a["extractable"] is False and a["sensitive"] is True, a
            # A corrupted blob is refused, and the node keeps serving.
            bad = bytearray(read(blob))
            bad[-1] ^= 1
            badp = write(env, "bad-" + mech, bytes(bad))
            p = alice.fails("key", "unwrap", "--unwrapping-key", wk, "--in",
                            badp, "--mech", mech, "--class", "secret",
                            "--key-type", "aes", "--label", "bad")
            assert "wrapped key invalid" in p.stderr, p.stderr
        assert not objects(alice, "--label", "bad")

        # A non-extractable key never leaves, by any mechanism.
        for mech in ("aes-kw", "aes-kwp", "aes-gcm"):
            p = alice.fails("key", "wrap", "--wrapping-key", wk, "--key",
                            nx, "--mech", mech, "--out", path(env, "no"))
            assert "not extractable" in p.stderr, p.stderr
        assert not os.path.exists(path(env, "no"))
        # ... nor after trying to flip the attribute.
        alice.fails("key", "set-attribute", nx, "extractable=true")
        alice.fails("key", "set-attribute", nx, "sensitive=false")
        alice.fails("key", "wrap", "--wrapping-key", wk, "--key", nx,
                    "--mech", "aes-kw", "--out", path(env, "no"))

        # Interop: an openssl RSA key wraps Coffer's key (RSA-OAEP); the
        # openssl side unwraps it and both sides encrypt alike.
        priv = path(env, "rsa.key")
        pub = path(env, "rsa.pub")
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                "rsa_keygen_bits:2048", "-out", priv)
        openssl("pkey", "-in", priv, "-pubout", "-out", pub)
        alice.run("key", "import-public", "--in", pub, "--label", "ossl")
        blob = path(env, "oaep")
        alice.run("key", "wrap", "--wrapping-key", "ossl", "--key", tk,
                  "--mech", "rsa-oaep-sha256", "--out", blob)
        raw = openssl("pkeyutl", "-decrypt", "-inkey", priv, "-in", blob,
                      "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt",
                      "rsa_oaep_md:sha256", "-pkeyopt",
                      "rsa_mgf1_md:sha256").stdout
        assert len(raw) == 32
        ossl_ct = openssl("enc", "-aes-256-cbc", "-nopad", "-K", raw.hex(),
                          "-iv", iv, "-in", data).stdout
        assert ossl_ct == ref
        # RFC 3394 made by Coffer opens with openssl once the KEK is known
        # (an extractable KEK, exported the same way).
        kek2 = alice.json("key", "generate-aes", "--bits", 256, "--label",
                          "kek2", "--extractable")["handle"]
        alice.run("key", "wrap", "--wrapping-key", "ossl", "--key", kek2,
                  "--mech", "rsa-oaep-sha256", "--out", blob)
        kek2_raw = openssl("pkeyutl", "-decrypt", "-inkey", priv, "-in",
                           blob, "-pkeyopt", "rsa_padding_mode:oaep",
                           "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt",
                           "rsa_mgf1_md:sha256").stdout
        kw = path(env, "kw")
        alice.run("key", "wrap", "--wrapping-key", kek2, "--key", tk,
                  "--mech", "aes-kw", "--out", kw)
        unwrapped = openssl("enc", "-d", "-id-aes256-wrap", "-K",
                            kek2_raw.hex(), "-iv", "A6A6A6A6A6A6A6A6",
                            "-in", kw).stdout
        assert unwrapped == raw

        # Reverse: openssl wraps a known AES key for Coffer's RSA key.
        r = alice.json("key", "generate-rsa", "--bits", 2048, "--label",
                       "unwrapper")
        cpub = path(env, "unwrapper.pem")
        alice.run("key", "export-public", "unwrapper", "--out", cpub)
        known = os.urandom(16)
        kf = write(env, "known", known)
        enc = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", cpub,
                      "-in", kf, "-pkeyopt", "rsa_padding_mode:oaep",
                      "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt",
                      "rsa_mgf1_md:sha256").stdout
        ef = write(env, "known.wrapped", enc)
        u = alice.json("key", "unwrap", "--unwrapping-key", "unwrapper",
                       "--in", ef, "--mech", "rsa-oaep-sha256", "--class",
                       "secret", "--key-type", "aes", "--label", "known")
        assert u["handle"] not in r.values()
        c1 = ct_of(u["handle"])
        assert c1 == openssl("enc", "-aes-128-cbc", "-nopad", "-K",
                             known.hex(), "-iv", iv, "-in", data).stdout
        # Private keys wrap as PKCS#8 (AES-KWP) and come back usable.
        ec = alice.json("key", "generate-ec", "--curve", "p256", "--label",
                        "ecx", "--extractable")
        blob = path(env, "ec.kwp")
        alice.run("key", "wrap", "--wrapping-key", wk, "--key",
                  ec["private"], "--mech", "aes-kwp", "--out", blob)
        e2 = alice.json("key", "unwrap", "--unwrapping-key", wk, "--in",
                        blob, "--mech", "aes-kwp", "--class", "private",
                        "--key-type", "ec", "--label", "ecx2")["handle"]
        msg = write(env, "msg", b"pkcs8 round trip")
        sig = path(env, "ec.sig")
        alice.run("crypto", "sign", "--key", e2, "--mech", "ecdsa-sha256",
                  "--in", msg, "--out", sig)
        alice.run("crypto", "verify", "--key", ec["public"], "--mech",
                  "ecdsa-sha256", "--in", msg, "--sig", sig)
    finally:
        env.close()


def test_persistence_and_session_keys():
    env = setup("keypersist")
    try:
        alice = make_user(env, "alice", PW["alice"])
        k = alice.json("key", "generate-aes", "--bits", 256, "--label",
                       "durable")["handle"]
        rsa = alice.json("key", "generate-rsa", "--bits", 2048, "--label",
                         "durable-rsa")
        data = write(env, "data", b"persist me " * 10)
        ct = path(env, "ct")
        alice.run("crypto", "encrypt", "--key", k, "--mech", "aes-gcm",
                  "--in", data, "--out", ct)
        pem1 = path(env, "p1.pem")
        alice.run("key", "export-public", rsa["public"], "--out", pem1)

        # A session key lives only as long as its connection: inside one
        # shell it is listed and usable, afterwards it is gone.
        e = dict(os.environ, COFFER_PASSWORD=PW["alice"])
        e.pop("COFFER_CONFIG", None)
        blk = write(env, "blk", b"A" * 32)
        script = ("key generate-aes --bits 128 --label ephemeral --session "
                  "--json\nkey list --label ephemeral --json\n"
                  "crypto encrypt --label ephemeral --mech aes-ecb --in %s "
                  "--out %s\nquit\n" % (blk, path(env, "sess.ct")))
        p = subprocess.run([COFFER, "--config", env.client_config, "--user",
                            "alice", "shell"], input=script, env=e,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (p.stdout, p.stderr)
        docs = [json.loads(d) for d in _json_docs(p.stdout)]
        h = docs[0]["handle"]
        assert h in [o["handle"] for o in docs[1]["objects"]], docs
        assert docs[1]["objects"][0]["token"] is False, docs
        assert len(read(path(env, "sess.ct"))) == 32
        assert not objects(alice, "--label", "ephemeral")

        env.node.stop()
        env.node.start()
        objs = objects(alice)
        assert k in objs and rsa["public"] in objs and \
            rsa["private"] in objs, objs
        assert not [o for o in objs.values() if o["label"] == "ephemeral"]
        pt = path(env, "pt")
        alice.run("crypto", "decrypt", "--key", k, "--mech", "aes-gcm",
                  "--in", ct, "--out", pt)
        assert read(pt) == read(data)
        pem2 = path(env, "p2.pem")
        alice.run("key", "export-public", rsa["public"], "--out", pem2)
        assert read(pem1) == read(pem2)
        sig = path(env, "sig")
        alice.run("crypto", "sign", "--key", rsa["private"], "--mech",
                  "rsa-pkcs-sha256", "--in", data, "--out", sig)
        openssl("dgst", "-sha256", "-verify", pem2, "-signature", sig, data)
    finally:
        env.close()


def _json_docs(text):
    """Splits concatenated pretty-printed JSON documents."""
    dec = json.JSONDecoder()
    i, out = 0, []
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, j = dec.raw_decode(text, i)
        out.append(text[i:j])
        i = j
    return out


def test_kill9_loses_no_acknowledged_key():
    env = setup("keykill9")
    try:
        n = env.node
        make_user(env, "alice", PW["alice"])
        acked, stop = [], threading.Event()

        def writer():
            e = dict(os.environ, COFFER_PASSWORD=PW["alice"])
            e.pop("COFFER_CONFIG", None)
            for i in range(100000):
                if stop.is_set():
                    return
                p = subprocess.run(
                    [COFFER, "--config", env.client_config, "--user",
                     "alice", "--json", "key",
                     "generate-rsa" if i % 5 == 4 else "generate-aes",
                     "--bits", "2048" if i % 5 == 4 else "256",
                     "--label", "k%05d" % i],
                    env=e, capture_output=True, text=True, timeout=60)
                if p.returncode == 0:
                    r = json.loads(p.stdout)
                    for f in ("handle", "public", "private"):
                        if f in r:
                            acked.append((r[f], "k%05d" % i))
                elif not n.alive():
                    return
        t = threading.Thread(target=writer)
        t.start()
        deadline = time.time() + 90
        while len(acked) < 15 and time.time() < deadline:
            time.sleep(0.05)
        n.kill9()
        stop.set()
        t.join()
        assert len(acked) >= 15, "only %d keys acknowledged" % len(acked)
        n.start()
        alice = User(env, "alice", PW["alice"])
        objs = objects(alice)
        lost = [(h, lab) for h, lab in acked
                if h not in objs or objs[h]["label"] != lab]
        assert not lost, "acknowledged but lost: %s" % lost
    finally:
        env.close()


if __name__ == "__main__":
    run([test_generate_every_type, test_authorization, test_wrap_unwrap,
         test_persistence_and_session_keys,
         test_kill9_loses_no_acknowledged_key])
