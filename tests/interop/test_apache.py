#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Apache httpd (mod_ssl) serving HTTPS on 127.0.0.1 with its private key
in the token, through libp11's pkcs11 engine: `SSLCryptoDevice pkcs11` and
`SSLCertificateKeyFile "pkcs11:<URI>"`, the engine (module path, PIN)
configured in the openssl.cnf named by OPENSSL_CONF. An RSA and an ECDSA
key are generated in the token and certified with `openssl req -x509`
signing in the token; curl handshakes (TLS 1.2 and 1.3) with --cacert;
the served certificate is the generated one and its public key is the
token's public key (read with pkcs11-tool); the error log shows the key
loaded from the engine and no error. httpd runs in the foreground first
as one process (-X), then with the prefork MPM and two children
(-DFOREGROUND): libp11 initializes the module again in each forked child.
Then with the PIN in the URI (?pin-value=) instead of the engine
configuration, and without SSLCryptoDevice. Last, the key is deleted
from the token while httpd runs and the next handshakes must fail: the
handshake signatures are made by the token, live.
httpd runs from its own ServerRoot in the temporary directory and is
always stopped at the end. As root, the children run as User www-data,
so the files the module reads (configuration, trust anchor, SoftHSM
token directory, module log) are made accessible to it."""
import hashlib
import json
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import sys
import time


def _traversable_by_others(path):
    d = os.path.abspath(path)
    while True:
        if os.path.exists(d) and not os.stat(d).st_mode & 0o001:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


# As root, httpd's children run as www-data and must reach the test's
# files. A build tree below a private directory (/root/...) is out of
# their reach: then work below /tmp instead. Set before interop reads it.
if os.geteuid() == 0 and not _traversable_by_others(
        os.path.dirname(os.path.abspath(
            os.environ.get("COFFER_TEST_TMP", "/tmp")))):
    os.environ["COFFER_TEST_TMP"] = "/tmp"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import (Checks, expect, free_port, pct, run,  # noqa: E402
                     setup, write_openssl_cnf)

APACHE = os.environ.get("APACHE2", "/usr/sbin/apache2")
MODULES = os.environ.get("APACHE2_MODULES", "/usr/lib/apache2/modules")
RUN_USER = os.environ.get("APACHE2_USER", "www-data")
BODY = "coffer-apache-interop-ok"

t = setup("apache")
c = Checks(t)
CNF = t.path("openssl.cnf")
write_openssl_cnf(CNF, t, init=0)
env = dict(t.env)
env["OPENSSL_CONF"] = CNF
# The same without the PIN: it comes from the URI (?pin-value=).
CNF_NOPIN = t.path("openssl-nopin.cnf")
with open(CNF) as _in, open(CNF_NOPIN, "w") as _out:
    _out.write("".join(ln for ln in _in if not ln.startswith("PIN =")))
env_nopin = dict(env)
env_nopin["OPENSSL_CONF"] = CNF_NOPIN
plain = dict(t.env)
plain["OPENSSL_CONF"] = "/dev/null"
DOCROOT = t.path("htdocs")
os.makedirs(DOCROOT, exist_ok=True)
with open(os.path.join(DOCROOT, "index.txt"), "w") as fh:
    fh.write(BODY + "\n")


def f(name):
    return t.path(name)


def p11(*args, **kw):
    return run(["pkcs11-tool", "--module", t.module, "--token-label",
                t.token, "--login", "--pin", t.pin] + list(args), t.env,
               timeout=180, **kw)


def keygen():
    p11("--keypairgen", "--key-type", "rsa:2048", "--label", "apx-rsa",
        "--id", "41", "--usage-sign")
    p11("--keypairgen", "--key-type", "EC:prime256v1", "--label", "apx-ec",
        "--id", "42", "--usage-sign")


def spki_der(args, env_):
    """DER SubjectPublicKeyInfo from `openssl <args>`."""
    return run(["openssl"] + args + ["-outform", "DER"], env_,
               text=False).stdout


def make_cert(lbl):
    def fn():
        run(["openssl", "req", "-new", "-x509", "-engine", "pkcs11",
             "-keyform", "engine", "-key", t.uri(object=lbl, type="private"),
             "-subj", "/CN=localhost", "-days", "30", "-sha256",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-out", f(lbl + ".crt")], env)
        run(["openssl", "verify", "-CAfile", f(lbl + ".crt"),
             f(lbl + ".crt")], plain)
        # The token's public key, as pkcs11-tool reads it.
        p11("--read-object", "--type", "pubkey", "--label", lbl, "-o",
            f(lbl + ".pub.der"))
        tok = spki_der(["pkey", "-pubin", "-inform", "DER", "-in",
                        f(lbl + ".pub.der")], plain)
        expect(len(tok) > 50, "no public key read from the token")
        expect(cert_pub_der(f(lbl + ".crt")) == tok,
               "certificate's key is not the token's key")
        with open(f(lbl + ".pub.spki"), "wb") as fh:
            fh.write(tok)
    return fn


def cert_pub_der(cert_pem_path):
    p = run(["openssl", "x509", "-in", cert_pem_path, "-noout", "-pubkey"],
            plain)
    return run(["openssl", "pkey", "-pubin", "-outform", "DER"], plain,
               input=p.stdout.encode(), text=False).stdout


def grant_access():
    """As root, httpd serves as User www-data (the one process of -X
    after it drops its privileges, and every prefork child), which must
    read what the module reads: the token directory or module
    configuration, trust anchor and log; and the document root."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam(RUN_USER)
    paths = [(DOCROOT, False)]
    if "SOFTHSM2_CONF" in t.env:
        paths += [(t.env["SOFTHSM2_CONF"], False), (f("tokens"), True)]
    if "COFFER_PKCS11_CONF" in t.env:
        conf = t.env["COFFER_PKCS11_CONF"]
        with open(conf) as fh:
            mc = json.load(fh)
        paths.append((conf, False))
        for s in mc.get("slots", []):
            for k in ("trust_anchor", "client_config", "client_cert",
                      "client_key"):
                if k in s:
                    paths.append((s[k], False))
        if "log_file" in mc:
            # The parent (root) creates it; the children append to it.
            open(mc["log_file"], "a").close()
            os.chown(mc["log_file"], pw.pw_uid, pw.pw_gid)
    if "PKCS11SPY_OUTPUT" in t.env:           # --spy
        spy = t.env["PKCS11SPY_OUTPUT"]
        open(spy, "a").close()
        os.chmod(spy, 0o666)
    # Every directory above them: traversable (changed only inside the
    # temporary directory).
    # The test scratch root (COFFER_TEST_TMP, in the build tree) may be
    # made traversable too: other tests create it 0700.
    top = os.path.abspath(t.dir)
    scratch = os.path.abspath(os.environ.get("COFFER_TEST_TMP", top))
    for p, _ in paths:
        d = os.path.dirname(os.path.abspath(p))
        while d != "/":
            st = os.stat(d)
            if not st.st_mode & 0o001:
                expect(d == top or d.startswith(top + "/") or d == scratch,
                       "%s is not traversable by %s" % (d, RUN_USER))
                os.chmod(d, st.st_mode | 0o111)
            d = os.path.dirname(d)
    for p, write in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                for q in [root] + [os.path.join(root, n) for n in files]:
                    if write:       # SoftHSM's token: its lock files
                        os.chown(q, pw.pw_uid, pw.pw_gid)
                    else:
                        os.chmod(q, 0o755 if q == root else 0o644)
        else:
            os.chmod(p, 0o644)


class Apache:
    def __init__(self, lbl, prefork=False, pin_in_uri=False,
                 cryptodevice=True):
        self.lbl = lbl
        self.prefork = prefork
        self.root = f("httpd-%s%s%s%s" % (
            lbl, "-prefork" if prefork else "", "-pin" if pin_in_uri else "",
            "" if cryptodevice else "-nodev"))
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.root, "httpd.conf")
        self.err = os.path.join(self.root, "logs", "error.log")
        key = t.uri(object=lbl, type="private")
        if pin_in_uri:
            key += "?pin-value=" + pct(t.pin)
        self.key = key
        self.env = env_nopin if pin_in_uri else env
        user = ""
        if os.geteuid() == 0:
            pw = pwd.getpwnam(RUN_USER)
            user = "User %s\nGroup #%d\n" % (RUN_USER, pw.pw_gid)
        with open(self.conf, "w") as fh:
            fh.write("""ServerRoot "%(root)s"
DefaultRuntimeDir "%(root)s"
PidFile "%(root)s/httpd.pid"
ErrorLog "%(err)s"
LogLevel info ssl:debug
LoadModule mpm_prefork_module %(mods)s/mod_mpm_prefork.so
LoadModule authz_core_module %(mods)s/mod_authz_core.so
LoadModule mime_module %(mods)s/mod_mime.so
LoadModule ssl_module %(mods)s/mod_ssl.so
%(user)s
StartServers 2
MinSpareServers 1
MaxSpareServers 2
ServerLimit 2
MaxRequestWorkers 2
MaxConnectionsPerChild 0
Listen 127.0.0.1:%(port)d
ServerName localhost:%(port)d
TypesConfig /dev/null
AddType text/plain .txt
%(dev)sSSLCryptoDevice pkcs11
SSLSessionCache none
<VirtualHost 127.0.0.1:%(port)d>
    ServerName localhost:%(port)d
    DocumentRoot "%(docroot)s"
    <Directory "%(docroot)s">
        Require all granted
    </Directory>
    SSLEngine on
    SSLProtocol -all +TLSv1.2 +TLSv1.3
    SSLCertificateFile "%(crt)s"
    SSLCertificateKeyFile "%(key)s"
</VirtualHost>
""" % {"root": self.root, "err": self.err, "mods": MODULES,
       "dev": "" if cryptodevice else "# ",
       "user": user, "port": self.port, "docroot": DOCROOT,
       "crt": f(lbl + ".crt"), "key": key})
        self.proc = None

    def log(self):
        text = ""
        for p in (os.path.join(self.root, "out"), self.err):
            if os.path.exists(p):
                with open(p, errors="replace") as fh:
                    text += fh.read()[-3000:]
        return text

    def error_log(self):
        if not os.path.exists(self.err):
            return ""
        with open(self.err, errors="replace") as fh:
            return fh.read()

    def start(self, timeout=90):
        run([APACHE, "-t", "-f", self.conf], self.env, timeout=120)
        out = open(os.path.join(self.root, "out"), "wb")
        mode = ["-DFOREGROUND"] if self.prefork else ["-X"]
        self.proc = subprocess.Popen([APACHE, "-f", self.conf] + mode,
                                     env=self.env, stdout=out, stderr=out,
                                     stdin=subprocess.DEVNULL,
                                     # prefork signals its process group
                                     # on shutdown: not ours.
                                     start_new_session=True)
        out.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("httpd exited with %d:\n%s" %
                                     (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("httpd did not listen:\n" + self.log())

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                # its own process group (start_new_session): children too
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def curl(url, lbl, ver):
    return run(["curl", "-sS", "--max-time", "30", "--cacert",
                f(lbl + ".crt")] + ver + ["-w", "\\n%{http_code}", url],
               plain, check=False, timeout=60)


def curl_ok(url, lbl, ver, srv):
    p = curl(url, lbl, ver)
    expect(p.returncode == 0 and BODY in p.stdout and
           p.stdout.strip().endswith("200"),
           "curl %s: exit %d\n%s%s\n%s" % (ver[0], p.returncode, p.stdout,
                                            p.stderr, srv.log()))


def served_cert(port, lbl):
    ctx = ssl.create_default_context(cafile=f(lbl + ".crt"))
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as ss:
            return ss.getpeercert(binary_form=True), ss.cipher()


TLS12 = ["--tlsv1.2", "--tls-max", "1.2"]
TLS13 = ["--tlsv1.3"]


def check_log(srv, lbl):
    """mod_ssl loaded the key through the engine, from the URI, and
    nothing failed or fell back to another key."""
    text = srv.error_log()
    uri = srv.key
    expect("Initialized engine pkcs11 for private key " + uri in text,
           "httpd did not load the key through the engine:\n" +
           text[-3000:])
    expect(re.search(r"AH02568: Certificate and private key \S+ configured "
                     r"from %s and %s$" % (re.escape(f(lbl + ".crt")),
                                           re.escape(uri)), text, re.M),
           "httpd did not configure the key from the URI:\n" + text[-3000:])
    bad = [ln for ln in text.splitlines()
           if re.search(r"\[[a-z_]+:(error|crit|alert|emerg)\]", ln)
           or re.search(r"AH0(2565|2579|2564|2562)|AH101(30|31|32)|"
                        r"AH10491|PKCS#11 module::", ln)]
    expect(not bad, "errors in the httpd log:\n" + "\n".join(bad[-20:]))


def serve(lbl, prefork=False, pin_in_uri=False, cryptodevice=True):
    def fn():
        srv = Apache(lbl, prefork, pin_in_uri, cryptodevice)
        try:
            srv.start()
            url = "https://127.0.0.1:%d/index.txt" % srv.port
            # Several handshakes with children: each may land in a
            # forked child that must re-initialize the module.
            n = 4 if prefork else 1
            for ver in (TLS12, TLS13):
                for _ in range(n):
                    curl_ok(url, lbl, ver, srv)
            der, cipher = served_cert(srv.port, lbl)
            want = hashlib.sha256(_pem_der(f(lbl + ".crt"))).hexdigest()
            got = hashlib.sha256(der).hexdigest()
            expect(got == want, "served %s, generated %s" % (got, want))
            # The served certificate's key is the token's public key.
            with open(f("served.pem"), "w") as fh:
                fh.write(ssl.DER_cert_to_PEM_cert(der))
            with open(f(lbl + ".pub.spki"), "rb") as fh:
                tok = fh.read()
            expect(cert_pub_der(f("served.pem")) == tok,
                   "served certificate's key is not the token's key")
            print("  %s: %s, sha256 %s" % (lbl, cipher[1], got[:16]))
            # A client that does not trust the certificate is refused.
            p = run(["curl", "-sS", "--max-time", "30", url], plain,
                    check=False, timeout=60)
            expect(p.returncode != 0, "untrusted handshake succeeded")
            check_log(srv, lbl)
            # Who served: the one process (-X), or forked children only.
            pids = set(re.findall(r"\[pid (\d+)[^\]]*\] \[client [^\]]*\] "
                                  r"AH01964:", srv.error_log()))
            parent = str(srv.proc.pid)
            expect(pids and (parent not in pids if prefork else
                             pids == {parent}),
                   "handshakes served by %s, parent %s" % (pids, parent))
            print("  served by pid %s" % ", ".join(sorted(pids)))
        finally:
            srv.stop()
    return fn


def _pem_der(path):
    with open(path) as fh:
        return ssl.PEM_cert_to_DER_cert(fh.read())


def key_deleted(lbl):
    """Proof that every handshake is signed in the token: with httpd
    running, the private key is deleted from the token (by another
    process) and the next handshakes fail, with the module's error in
    httpd's log."""
    def fn():
        srv = Apache(lbl, prefork=True)
        try:
            srv.start()
            url = "https://127.0.0.1:%d/index.txt" % srv.port
            curl_ok(url, lbl, TLS13, srv)
            p11("--delete-object", "--type", "privkey", "--label", lbl)
            for ver in (TLS12, TLS13):
                p = curl(url, lbl, ver)
                expect(p.returncode != 0,
                       "handshake %s without the key in the token "
                       "succeeded:\n%s" % (ver[0], srv.log()))
            text = srv.error_log()
            expect("PKCS#11 module::" in text,
                   "no PKCS#11 error in httpd's log:\n" + text[-3000:])
            print("  %s" % [ln for ln in text.splitlines()
                            if "PKCS#11 module::" in ln][-1][-90:])
        finally:
            srv.stop()
    return fn


if c.need_tools(APACHE, "curl", "openssl", "pkcs11-tool"):
    c.check("keygen_with_pkcs11_tool", keygen)
    c.check("cert_rsa", make_cert("apx-rsa"))
    c.check("cert_ecdsa", make_cert("apx-ec"))
    c.check("grant_access_to_" + RUN_USER, grant_access)
    c.check("https_rsa", serve("apx-rsa"))
    c.check("https_ecdsa", serve("apx-ec"))
    c.check("https_rsa_prefork_2_children", serve("apx-rsa", prefork=True))
    c.check("https_ecdsa_prefork_2_children", serve("apx-ec", prefork=True))
    c.check("https_rsa_pin_in_uri", serve("apx-rsa", pin_in_uri=True))
    # mod_ssl takes the engine from the URI's scheme: SSLCryptoDevice
    # (which makes the engine OpenSSL's default) is not needed.
    c.check("https_ecdsa_without_sslcryptodevice",
            serve("apx-ec", cryptodevice=False))
    c.check("key_deleted_handshake_fails", key_deleted("apx-ec"))
c.finish()
