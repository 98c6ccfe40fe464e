#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Java 17 JCE through SunPKCS11: a provider config (name, library, slot),
keytool generating a key pair and self-signed certificate in the token,
then P11Interop.java (compiled here with javac): KeyStore listing,
KeyPairGenerator RSA/EC and KeyGenerator AES in the token, SHA256withRSA,
RSASSA-PSS, SHA256withECDSA (verified by the software providers),
AES/GCM/NoPadding and AES/CBC/PKCS5Padding, HmacSHA256."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import (Checks, expect, run, setup,  # noqa: E402
                     slot_of_token)

HERE = os.path.dirname(os.path.abspath(__file__))
t = setup("java")
c = Checks(t)
CFG = t.path("sunpkcs11.cfg")
ALIAS = "java-kt"


def f(name):
    return t.path(name)


def write_cfg():
    slot = slot_of_token(t)
    with open(CFG, "w") as fh:
        fh.write("""name = Interop
library = %s
slot = %d
# Keys made by KeyPairGenerator/KeyGenerator are token objects.
attributes(generate, *, *) = {
  CKA_TOKEN = true
}
""" % (t.module, slot))


def keytool(*args, check=True):
    return run(["keytool", "-J-XX:ErrorFile=" + f("hs_err_%p.log"),
                "-keystore", "NONE", "-storetype", "PKCS11",
                "-addprovider", "SunPKCS11", "-providerArg", CFG,
                "-storepass", t.pin] + list(args), t.env, check=check,
               timeout=300)


def keytool_genkeypair():
    # -providername: the key pair is generated in the token (keytool makes
    # it in software otherwise and stores it by value).
    keytool("-genkeypair", "-alias", ALIAS, "-keyalg", "RSA", "-keysize",
            "2048", "-sigalg", "SHA256withRSA", "-dname", "CN=java-kt",
            "-validity", "30", "-providername", "SunPKCS11-Interop")


def keytool_software_key():
    # A key pair made in software and stored by value (C_CreateObject of
    # a private key): SoftHSMv2 takes it, Coffer refuses it cleanly.
    # (RSA: keytool takes SunRsaSign's generator; for EC it may pick the
    # token's own.)
    p = keytool("-genkeypair", "-alias", "java-sw", "-keyalg", "RSA",
                "-keysize", "2048", "-sigalg", "SHA256withRSA",
                "-dname", "CN=java-sw", "-validity", "30", check=False)
    out = p.stdout + p.stderr
    if "no-import-by-value" in t.quirks:
        expect(p.returncode != 0, "private key stored by value:\n" + out)
        expect("CKR_TEMPLATE_INCONSISTENT" in out and
               "CKR_ATTRIBUTE_TYPE_INVALID" not in out, out)
        p = keytool("-list")
        expect("java-sw" not in p.stdout, p.stdout)
    else:
        expect(p.returncode == 0, out)


def keytool_list():
    p = keytool("-list")
    expect(re.search(r"^%s, .*PrivateKeyEntry" % ALIAS, p.stdout, re.M),
           p.stdout)
    p = keytool("-exportcert", "-rfc", "-alias", ALIAS)
    with open(f("kt.crt"), "w") as fh:
        fh.write(p.stdout)
    run(["openssl", "verify", "-CAfile", f("kt.crt"), f("kt.crt")], t.env)


def javac():
    shutil.copy(os.path.join(HERE, "P11Interop.java"), t.dir)
    run(["javac", "-d", f("classes"), f("P11Interop.java")], t.env,
        timeout=300)


def java_program():
    p = run(["java", "-XX:ErrorFile=" + f("hs_err_%p.log"), "-cp",
             f("classes"), "P11Interop", CFG, t.pin, ALIAS,
             "noimport" if "no-import-by-value" in t.quirks else "import"],
            t.env,
            check=False, timeout=600, cwd=t.dir)
    results = 0
    for line in p.stdout.splitlines():
        m = re.match(r"(PASS|FAIL) (\S+)(?:: (.*))?$", line)
        if m:
            results += 1
            if m.group(1) == "PASS":
                c.passed += 1
                print("PASS java_" + m.group(2), flush=True)
            else:
                c.fail("java_" + m.group(2), m.group(3))
        elif line.startswith("  "):
            print(line)
    if p.returncode != 0 or results == 0:
        print(p.stdout[-6000:] + p.stderr[-3000:])
    expect(results > 0 and re.search(r"^\d+ passed, \d+ failed$",
                                     p.stdout, re.M),
           "P11Interop did not finish (exit %d): JVM crash? see %s" %
           (p.returncode, f("hs_err_*.log")))


def token_objects():
    # The generated keys are token objects, visible to another program.
    p = run(["pkcs11-tool", "--module", t.module, "--token-label", t.token,
             "--login", "--pin", t.pin, "-O"], t.env)
    expect(p.stdout.count("Private Key Object") >= 3, p.stdout)
    expect(p.stdout.count("Secret Key Object") >= 3, p.stdout)
    expect("label:      java-aes" in p.stdout, p.stdout)


if c.need_tools("java", "javac", "keytool", "pkcs11-tool", "openssl"):
    c.check("sunpkcs11_config", write_cfg)
    c.check("keytool_genkeypair", keytool_genkeypair)
    c.check("keytool_list_exportcert", keytool_list)
    c.check("keytool_software_key", keytool_software_key)
    c.check("javac", javac)
    c.check("java_run", java_program)
    c.check("token_objects_after_java", token_objects)
c.finish()
