#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GnuTLS p11tool (and certtool) against a PKCS#11 token: token and
object listing, RSA and ECDSA key generation, --test-sign (PKCS#1 v1.5,
RSA-PSS, ECDSA) with PKCS#11 URIs, public key export checked against the
generated key, and a self-signed certificate made by certtool with the
key in the token, stored back with --write and verified by OpenSSL."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import Checks, expect, run, setup  # noqa: E402

t = setup("p11tool")
c = Checks(t)
env = dict(t.env)
env["GNUTLS_PIN"] = t.pin
TOK = t.uri()


def p11(*args, check=True):
    return run(["p11tool", "--provider", t.module] + list(args), env,
               check=check, timeout=180)


def f(name):
    return t.path(name)


def norm_pem(path):
    with open(path) as fh:
        return "".join(line.strip() for line in fh
                       if line.strip() and "-----" not in line)


def list_tokens():
    p = p11("--list-tokens")
    expect("Label: %s" % t.token in p.stdout, p.stdout)
    expect("Requires login" in p.stdout, "no login flag:\n" + p.stdout)
    expect("token=%s" % t.token in p.stdout, "no token URI:\n" + p.stdout)


def list_mechanisms():
    p = p11("--list-mechanisms", TOK)
    # By value: p11tool names 0x1040 CKM_ECDSA_KEY_PAIR_GEN (2.11 name).
    for m in ("0x0000", "0x0001", "0x000d", "0x0040", "0x1040", "0x1041",
              "0x1080"):
        expect("[%s]" % m in p.stdout, "%s not listed:\n%s" % (m, p.stdout))


def gen_rsa():
    p11("--login", "--generate-privkey", "rsa", "--bits", "2048", "--label",
        "gt-rsa", "--outfile", f("gt-rsa.pub"), TOK)
    p = run(["openssl", "pkey", "-pubin", "-in", f("gt-rsa.pub"), "-noout",
             "-text"], env)
    expect("(2048 bit)" in p.stdout, p.stdout)


def gen_ecdsa():
    p11("--login", "--generate-privkey", "ecdsa", "--curve", "secp256r1",
        "--label", "gt-ec", "--outfile", f("gt-ec.pub"), TOK)
    p = run(["openssl", "pkey", "-pubin", "-in", f("gt-ec.pub"), "-noout",
             "-text"], env)
    expect("prime256v1" in p.stdout or "P-256" in p.stdout, p.stdout)


def list_all():
    p = p11("--login", "--list-all", TOK)
    for lbl in ("gt-rsa", "gt-ec"):
        expect("object=%s;type=private" % lbl in p.stdout,
               "%s private key not listed:\n%s" % (lbl, p.stdout))
        expect("object=%s;type=public" % lbl in p.stdout,
               "%s public key not listed:\n%s" % (lbl, p.stdout))
    # Not logged in: no private keys (Coffer shows nothing at all, and
    # p11tool then exits 2 "No matching objects found").
    p = p11("--list-all", TOK, check=False)
    expect("type=private" not in p.stdout,
           "private key listed without login:\n" + p.stdout)
    p = p11("--login", "--list-privkeys", TOK)
    expect(p.stdout.count("URL:") >= 2, p.stdout)


def export_pubkey():
    for lbl in ("gt-rsa", "gt-ec"):
        p11("--login", "--export-pubkey", t.uri(object=lbl, type="public"),
            "--outfile",
            f(lbl + ".exp"))
        expect(norm_pem(f(lbl + ".exp")) == norm_pem(f(lbl + ".pub")),
               "%s: exported public key differs from the generated one" %
               lbl)


def test_sign(lbl, *params):
    def fn():
        p = p11("--login", "--test-sign", *params,
                t.uri(object=lbl, type="private"))
        out = p.stdout + p.stderr
        expect("Verifying against public key in the token... ok" in out,
               out)
        expect("failed" not in out.lower(), out)
    return fn


def certtool_self_signed():
    with open(f("tmpl"), "w") as fh:
        fh.write('cn = "p11tool interop"\nserial = 7\nexpiration_days = 30\n'
                 'signing_key\ncert_signing_key\n')
    run(["certtool", "--provider", t.module, "--generate-self-signed",
         "--load-privkey", t.uri(object="gt-ec", type="private"),
         "--load-pubkey", t.uri(object="gt-ec", type="public"),
         "--template", f("tmpl"), "--outfile", f("gt.crt")], env,
        timeout=180)
    run(["openssl", "verify", "-CAfile", f("gt.crt"), f("gt.crt")], env)
    p = run(["openssl", "x509", "-in", f("gt.crt"), "-noout", "-pubkey"],
            env)
    with open(f("gt.crt.pub"), "w") as fh:
        fh.write(p.stdout)
    expect(norm_pem(f("gt.crt.pub")) == norm_pem(f("gt-ec.pub")),
           "certificate key is not the token's key")


def write_cert():
    p11("--login", "--write", "--load-certificate", f("gt.crt"), "--label",
        "gt-cert", TOK)
    p = p11("--login", "--list-all-certs", TOK)
    expect("object=gt-cert;type=cert" in p.stdout, p.stdout)
    p11("--login", "--export", t.uri(object="gt-cert", type="cert"),
        "--outfile", f("gt.exp.crt"))
    expect(norm_pem(f("gt.exp.crt")) == norm_pem(f("gt.crt")),
           "exported certificate differs")


def delete():
    p11("--login", "--batch", "--delete", t.uri(object="gt-cert",
                                                type="cert"))
    p = p11("--login", "--list-all-certs", TOK, check=False)
    expect("gt-cert" not in p.stdout, p.stdout)


if c.need_tools("p11tool", "certtool", "openssl"):
    c.check("list_tokens", list_tokens)
    c.check("list_mechanisms", list_mechanisms)
    c.check("generate_privkey_rsa", gen_rsa)
    c.check("generate_privkey_ecdsa", gen_ecdsa)
    c.check("list_all", list_all)
    c.check("export_pubkey", export_pubkey)
    c.check("test_sign_rsa", test_sign("gt-rsa"))
    c.check("test_sign_rsa_pss", test_sign("gt-rsa", "--sign-params",
                                           "rsa-pss"))
    c.check("test_sign_ecdsa", test_sign("gt-ec"))
    c.check("certtool_self_signed", certtool_self_signed)
    c.check("write_certificate", write_cert)
    c.check("delete_certificate", delete)
c.finish()
