#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""nginx serving HTTPS on 127.0.0.1 with its private key in the token
(libp11's pkcs11 engine, `ssl_certificate_key engine:pkcs11:<URI>`), with
an RSA key and then an ECDSA key: curl handshakes (TLS 1.2 and 1.3) with
--cacert, and the served certificate is compared with the generated one.
nginx runs in the foreground (daemon off; master_process off) in its own
prefix and is always stopped at the end."""
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop import (Checks, expect, free_port, run, setup,  # noqa: E402
                     write_openssl_cnf)

NGINX = os.environ.get("NGINX", "nginx")
BODY = "coffer-interop-ok"

t = setup("nginx")
c = Checks(t)
CNF = t.path("openssl.cnf")
write_openssl_cnf(CNF, t, init=1)
env = dict(t.env)
env["OPENSSL_CONF"] = CNF
plain = dict(t.env)
plain["OPENSSL_CONF"] = "/dev/null"


def f(name):
    return t.path(name)


def p11(*args):
    return run(["pkcs11-tool", "--module", t.module, "--token-label",
                t.token, "--login", "--pin", t.pin] + list(args), t.env,
               timeout=180)


def keygen():
    p11("--keypairgen", "--key-type", "rsa:2048", "--label", "ngx-rsa",
        "--id", "31", "--usage-sign")
    p11("--keypairgen", "--key-type", "EC:prime256v1", "--label", "ngx-ec",
        "--id", "32", "--usage-sign")


def make_cert(lbl):
    def fn():
        run(["openssl", "req", "-new", "-x509", "-engine", "pkcs11",
             "-keyform", "engine", "-key", t.uri(object=lbl, type="private"),
             "-subj", "/CN=localhost", "-days", "30", "-sha256",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-out", f(lbl + ".crt")], env)
        run(["openssl", "verify", "-CAfile", f(lbl + ".crt"),
             f(lbl + ".crt")], plain)
    return fn


def der_of(pem_path):
    with open(pem_path) as fh:
        return ssl.PEM_cert_to_DER_cert(fh.read())


class Nginx:
    def __init__(self, lbl, master=False):
        self.lbl = lbl
        self.prefix = f("nginx-%s%s" % (lbl, "-master" if master else ""))
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.prefix, "nginx.conf")
        self.err = os.path.join(self.prefix, "logs", "error.log")
        key = "engine:pkcs11:" + t.uri(object=lbl, type="private")
        tmp = os.path.join(self.prefix, "tmp")
        with open(self.conf, "w") as fh:
            fh.write("""daemon off;
master_process %(mp)s;
worker_processes %(wp)d;
%(user)s
pid %(p)s/nginx.pid;
error_log %(err)s info;
env OPENSSL_CONF;
env SOFTHSM2_CONF;
env COFFER_PKCS11_CONF;
env PKCS11SPY;
env PKCS11SPY_OUTPUT;
events { worker_connections 64; }
http {
    access_log %(p)s/logs/access.log;
    client_body_temp_path %(tmp)s/body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fastcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    server {
        listen 127.0.0.1:%(port)d ssl;
        server_name localhost;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate %(crt)s;
        ssl_certificate_key "%(key)s";
        location / { default_type text/plain; return 200 "%(body)s\\n"; }
    }
}
""" % {"user": "user root;" if os.geteuid() == 0 else "",
       "mp": "on" if master else "off", "wp": 2 if master else 1,
       "p": self.prefix, "err": self.err, "tmp": tmp, "port": self.port,
       "crt": f(lbl + ".crt"), "key": key, "body": BODY})
        self.proc = None

    def log(self):
        text = ""
        for p in (os.path.join(self.prefix, "out"), self.err):
            if os.path.exists(p):
                with open(p, errors="replace") as fh:
                    text += fh.read()[-2500:]
        return text

    def start(self, timeout=60):
        run([NGINX, "-t", "-p", self.prefix, "-c", self.conf, "-e",
             self.err], env, timeout=120)
        out = open(os.path.join(self.prefix, "out"), "wb")
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.prefix, "-c", self.conf, "-e", self.err],
            env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited with %d:\n%s" %
                                     (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("nginx did not listen:\n" + self.log())

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def curl_ok(url, lbl, ver, ngx):
    p = run(["curl", "-sS", "--max-time", "30", "--cacert", f(lbl + ".crt")]
            + ver + ["-w", "\\n%{http_code}", url], plain, check=False,
            timeout=60)
    expect(p.returncode == 0 and BODY in p.stdout and
           p.stdout.strip().endswith("200"),
           "curl %s: exit %d\n%s%s\n%s" % (ver[0], p.returncode, p.stdout,
                                            p.stderr, ngx.log()))


def serve(lbl, master=False):
    def fn():
        ngx = Nginx(lbl, master)
        try:
            ngx.start()
            url = "https://127.0.0.1:%d/" % ngx.port
            # Several requests when nginx has workers: each handshake may
            # land in a forked worker that must re-initialize the module.
            n = 4 if master else 1
            for ver in (["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]):
                for _ in range(n):
                    curl_ok(url, lbl, ver, ngx)
            # The served certificate is the generated one; the handshake
            # was signed with the token's key (the certificate's key).
            ctx = ssl.create_default_context(cafile=f(lbl + ".crt"))
            with socket.create_connection(("127.0.0.1", ngx.port),
                                          10) as s:
                with ctx.wrap_socket(s, server_hostname="localhost") as ss:
                    served = ss.getpeercert(binary_form=True)
                    cipher = ss.cipher()
            want = hashlib.sha256(der_of(f(lbl + ".crt"))).hexdigest()
            got = hashlib.sha256(served).hexdigest()
            expect(got == want, "served %s, generated %s" % (got, want))
            print("  %s: %s, sha256 %s" % (lbl, cipher[1], got[:16]))
            # A client that does not trust the certificate is refused.
            p = run(["curl", "-sS", "--max-time", "30", url], plain,
                    check=False, timeout=60)
            expect(p.returncode != 0, "untrusted handshake succeeded")
        finally:
            ngx.stop()
    return fn


if c.need_tools(NGINX, "curl", "openssl", "pkcs11-tool"):
    c.check("keygen_with_pkcs11_tool", keygen)
    c.check("cert_rsa", make_cert("ngx-rsa"))
    c.check("cert_ecdsa", make_cert("ngx-ec"))
    c.check("https_rsa", serve("ngx-rsa"))
    c.check("https_ecdsa", serve("ngx-ec"))
    c.check("https_rsa_master_2_workers", serve("ngx-rsa", master=True))
c.finish()
