#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""OpenSSL 3 through libp11's pkcs11 engine: `openssl req -x509` making a
self-signed certificate whose key stays in the token, `openssl pkeyutl`
sign (PKCS#1 v1.5, PSS, ECDSA) and decrypt, `openssl dgst -sign`; every
result verified by plain OpenSSL with the exported public key."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import (ENGINE, Checks, expect, run, setup,  # noqa: E402
                     write_openssl_cnf)


t = setup("openssl")
c = Checks(t)


def f(name):
    return t.path(name)


CNF = f("openssl.cnf")
write_openssl_cnf(CNF, t)
env = dict(t.env)
env["OPENSSL_CONF"] = CNF
plain = dict(t.env)          # the other side: no engine, no config
plain["OPENSSL_CONF"] = "/dev/null"

RSA = t.uri(object="ossl-rsa", type="private")
EC = t.uri(object="ossl-ec", type="private")
ENG = ["-engine", "pkcs11"]
DATA = f("data.bin")
with open(DATA, "wb") as fh:
    fh.write(b"OpenSSL engine interop\n" * 50)
with open(f("data.sha256"), "wb") as fh:
    fh.write(hashlib.sha256(open(DATA, "rb").read()).digest())


def ossl(*args, **kw):
    return run(["openssl"] + list(args), env, **kw)


def verify(*args, **kw):
    return run(["openssl"] + list(args), plain, **kw)


def p11(*args):
    return run(["pkcs11-tool", "--module", t.module, "--token-label",
                t.token, "--login", "--pin", t.pin] + list(args), t.env,
               timeout=180)


def keygen():
    p11("--keypairgen", "--key-type", "rsa:2048", "--label", "ossl-rsa",
        "--id", "21", "--usage-sign", "--usage-decrypt")
    p11("--keypairgen", "--key-type", "EC:prime256v1", "--label", "ossl-ec",
        "--id", "22", "--usage-sign")


def engine_loads():
    p = ossl("engine", "-t", "-c", "pkcs11")
    expect("[ available ]" in p.stdout, p.stdout)


def export_pub(lbl):
    def fn():
        # Public key through the engine, compared with pkcs11-tool's.
        ossl("pkey", *ENG, "-inform", "engine", "-pubin", "-in",
             t.uri(object=lbl, type="public"), "-pubout", "-out",
             f(lbl + ".pem"))
        run(["pkcs11-tool", "--module", t.module, "--token-label", t.token,
             "--login", "--pin", t.pin, "--read-object", "--type",
             "pubkey", "--label", lbl, "-o", f(lbl + ".der")], t.env)
        a = verify("pkey", "-pubin", "-in", f(lbl + ".pem"), "-outform",
                   "DER", text=False).stdout
        b = verify("pkey", "-pubin", "-inform", "DER", "-in",
                   f(lbl + ".der"), "-outform", "DER", text=False).stdout
        expect(a == b and len(a) > 50, "engine and pkcs11-tool disagree")
    return fn


def req_x509(lbl, uri):
    def fn():
        crt = f(lbl + ".crt")
        ossl("req", "-new", "-x509", *ENG, "-keyform", "engine", "-key",
             uri, "-subj", "/CN=%s.interop.test" % lbl, "-days", "30",
             "-sha256", "-out", crt)
        verify("verify", "-CAfile", crt, crt)
        a = verify("x509", "-in", crt, "-noout", "-pubkey").stdout
        b = verify("pkey", "-pubin", "-in", f(lbl + ".pem")).stdout
        expect(a.strip() == b.strip(), "certificate key is not the token's")
        p = verify("x509", "-in", crt, "-noout", "-subject", "-text")
        expect("%s.interop.test" % lbl in p.stdout, p.stdout)
    return fn


def pkeyutl_sign(lbl, uri, *opts):
    def fn():
        sig = f("%s-pkeyutl%d.sig" % (lbl, len(opts)))
        ossl("pkeyutl", *ENG, "-keyform", "engine", "-inkey", uri, "-sign",
             "-in", f("data.sha256"), "-out", sig, "-pkeyopt",
             "digest:sha256", *opts)
        verify("pkeyutl", "-verify", "-pubin", "-inkey", f(lbl + ".pem"),
               "-in", f("data.sha256"), "-sigfile", sig, "-pkeyopt",
               "digest:sha256", *opts)
        # A different digest must not verify.
        with open(f("other.sha256"), "wb") as fh:
            fh.write(hashlib.sha256(b"other").digest())
        p = verify("pkeyutl", "-verify", "-pubin", "-inkey", f(lbl + ".pem"),
                   "-in", f("other.sha256"), "-sigfile", sig, "-pkeyopt",
                   "digest:sha256", *opts, check=False)
        expect(p.returncode != 0, "wrong digest verified")
    return fn


def dgst_sign(lbl, uri):
    def fn():
        sig = f(lbl + "-dgst.sig")
        ossl("dgst", "-sha256", *ENG, "-keyform", "engine", "-sign", uri,
             "-out", sig, DATA)
        p = verify("dgst", "-sha256", "-verify", f(lbl + ".pem"),
                   "-signature", sig, DATA)
        expect("Verified OK" in p.stdout, p.stdout)
    return fn


def pkeyutl_decrypt():
    msg = f("secret.txt")
    with open(msg, "wb") as fh:
        fh.write(b"session key material 0123456789")
    verify("pkeyutl", "-encrypt", "-pubin", "-inkey", f("ossl-rsa.pem"),
           "-in", msg, "-out", f("secret.enc"))
    p = ossl("pkeyutl", *ENG, "-keyform", "engine", "-inkey", RSA,
             "-decrypt", "-in", f("secret.enc"), text=False)
    expect(p.stdout == open(msg, "rb").read(), "decrypted %r" % p.stdout)


def wrong_pin_refused():
    # The key is in the token: with a wrong PIN the engine cannot sign.
    class Wrong:
        module = t.module
        pin = t.pin + "x"
    cnf = f("wrong.cnf")
    write_openssl_cnf(cnf, Wrong)
    e = dict(env)
    e["OPENSSL_CONF"] = cnf
    p = run(["openssl", "dgst", "-sha256", "-engine", "pkcs11", "-keyform",
             "engine", "-sign", RSA, "-out", f("wrong.sig"), DATA], e,
            check=False)
    expect(p.returncode != 0, "signed with a wrong PIN")


if c.need_tools("openssl", "pkcs11-tool", ENGINE):
    c.check("keygen_with_pkcs11_tool", keygen)
    c.check("engine_loads", engine_loads)
    c.check("engine_pubkey_rsa", export_pub("ossl-rsa"))
    c.check("engine_pubkey_ec", export_pub("ossl-ec"))
    c.check("req_x509_rsa", req_x509("ossl-rsa", RSA))
    c.check("req_x509_ec", req_x509("ossl-ec", EC))
    c.check("pkeyutl_sign_rsa_pkcs1", pkeyutl_sign("ossl-rsa", RSA))
    c.check("pkeyutl_sign_rsa_pss", pkeyutl_sign(
        "ossl-rsa", RSA, "-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt",
        "rsa_pss_saltlen:32"))
    c.check("pkeyutl_sign_ecdsa", pkeyutl_sign("ossl-ec", EC))
    c.check("dgst_sign_rsa", dgst_sign("ossl-rsa", RSA))
    c.check("dgst_sign_ecdsa", dgst_sign("ossl-ec", EC))
    c.check("pkeyutl_decrypt_rsa", pkeyutl_decrypt)
    c.check("wrong_pin_refused", wrong_pin_refused)
c.finish()
