# SPDX-License-Identifier: Apache-2.0
"""Common code of the PKCS#11 interoperability tests (python3 standard
library only).

Every test script takes the same parameters:

  --target softhsm   make a fresh SoftHSMv2 token in a temporary directory
                     (SOFTHSM2_CONF, softhsm2-util --init-token)
  --target coffer    start a real cofferd on 127.0.0.1 (tests/integration/
                     harness.py), run the ceremony, create a crypto user and
                     write the module's JSON config (COFFER_PKCS11_CONF)
  --target none      use --module/--pin/--token as given (an existing token)
  --module PATH      PKCS#11 module (default: SoftHSMv2 or $COFFER_PKCS11)
  --pin PIN          user PIN (Coffer: "user:password")
  --token LABEL      token label
  --keep             keep the temporary directory (and print it)
  --spy              trace all PKCS#11 calls (OpenSC pkcs11-spy) to spy.log

The environment a tool must run with (SOFTHSM2_CONF or COFFER_PKCS11_CONF)
is Target.env. Results: one PASS/FAIL line per check, then
'N passed, N failed'; exit status 1 on any failure. A missing tool is a
failure, never a skip.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

ENGINE = os.environ.get("PKCS11_ENGINE",
                        "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so")
SPY_MODULE = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so"
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TMP_ROOT = os.environ.get("COFFER_TEST_TMP", "/tmp")

CU_USER = "interop"
CU_PASSWORD = "Interop-Passw0rd-1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Target:
    """A token to test: module, PIN, token label, environment, temp dir."""

    def __init__(self, name, module, pin, token, workdir, env, so_pin=None,
                 cleanup=None, quirks=()):
        self.name = name
        self.module = module
        self.pin = pin
        self.token = token
        self.dir = workdir
        self.env = env
        self.so_pin = so_pin
        self._cleanup = cleanup
        # Known limitations of the token under test (documented in
        # docs/INTEGRATIONS.md), e.g. "oaep-sha1-only" for SoftHSMv2.
        self.quirks = set(quirks)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def uri(self, **attrs):
        """A PKCS#11 URI (RFC 7512) for this token plus attributes."""
        parts = ["token=" + pct(self.token)]
        for k, v in attrs.items():
            parts.append("%s=%s" % (k.replace("_", "-"), pct(v)))
        return "pkcs11:" + ";".join(parts)

    def log_tail(self):
        return self._log_tail() if hasattr(self, "_log_tail") else ""

    def close(self, keep=False):
        if self._cleanup:
            try:
                self._cleanup()
            except Exception:
                traceback.print_exc()
        if keep:
            print("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def pct(s):
    out = ""
    for ch in s:
        if ch.isalnum() or ch in "-._~":
            out += ch
        else:
            out += "".join("%%%02X" % b for b in ch.encode())
    return out


def _base_env():
    env = dict(os.environ)
    for k in ("SOFTHSM2_CONF", "COFFER_PKCS11_CONF", "OPENSSL_CONF"):
        env.pop(k, None)
    return env


def setup_softhsm(name, module=None, pin="1234", token="interop"):
    os.makedirs(TMP_ROOT, exist_ok=True)
    d = tempfile.mkdtemp(prefix="interop-%s-softhsm-" % name, dir=TMP_ROOT)
    os.makedirs(os.path.join(d, "tokens"))
    conf = os.path.join(d, "softhsm2.conf")
    with open(conf, "w") as f:
        f.write("directories.tokendir = %s\nobjectstore.backend = file\n"
                "log.level = ERROR\nslots.removable = false\n" %
                os.path.join(d, "tokens"))
    env = _base_env()
    env["SOFTHSM2_CONF"] = conf
    so_pin = "12345678"
    if shutil.which("softhsm2-util") is None:
        raise AssertionError("softhsm2-util not found (apt install softhsm2)")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label",
                    token, "--pin", pin, "--so-pin", so_pin], env=env,
                   check=True, capture_output=True, timeout=60)
    return Target("softhsm", module or SOFTHSM_MODULE, pin, token, d, env,
                  so_pin=so_pin, quirks=("oaep-sha1-only", "no-ecdsa-hash"))


def setup_coffer(name, module=None, token="coffer"):
    import harness

    module = module or os.environ.get("COFFER_PKCS11")
    if not module or not os.path.exists(module):
        raise AssertionError("Coffer PKCS#11 module not found: set "
                             "COFFER_PKCS11 or --module")
    henv = harness.Env("interop-" + name)
    try:
        henv.node.start()
        henv.ceremony()
        henv.co("user", "create", CU_USER, "--role", "cu",
                new_password=CU_PASSWORD)
    except Exception:
        print(henv.node.output())
        henv.close()
        raise
    conf = os.path.join(henv.dir, "coffer-pkcs11.json")
    log = os.path.join(henv.dir, "coffer-pkcs11.log")
    with open(conf, "w") as f:
        json.dump({"log_file": log, "log_level": "debug",
                   "slots": [{"label": token,
                              "servers": [henv.node.addr],
                              "trust_anchor": henv.ca_cert(),
                              # RSA-4096 under ASan on a busy CI host
                              "keygen_timeout_ms": 300000}]}, f,
                  indent=2)
    env = _base_env()
    env["COFFER_PKCS11_CONF"] = conf
    # no-import-by-value: C_CreateObject of secret and private keys is
    # refused (CKR_TEMPLATE_INCONSISTENT); keys enter through unwrap.
    t = Target("coffer", module, "%s:%s" % (CU_USER, CU_PASSWORD), token,
               henv.dir, env, cleanup=lambda: henv.node.stop(),
               quirks=("no-import-by-value",))

    def tail():
        text = ""
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                text += "--- module log ---\n" + f.read()[-2500:]
        return text + "\n--- node ---\n" + henv.node.output()[-1500:]
    t._log_tail = tail
    return t


def setup(name, argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", choices=("softhsm", "coffer", "none"),
                    default="softhsm")
    ap.add_argument("--module")
    ap.add_argument("--pin")
    ap.add_argument("--token")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--spy", action="store_true",
                    help="trace every PKCS#11 call with OpenSC's "
                    "pkcs11-spy.so into <dir>/spy.log (implies --keep)")
    a = ap.parse_args(argv)
    if a.target == "softhsm":
        t = setup_softhsm(name, a.module, a.pin or "1234",
                          a.token or "interop")
    elif a.target == "coffer":
        t = setup_coffer(name, a.module, a.token or "coffer")
    else:
        if not (a.module and a.pin and a.token):
            ap.error("--target none needs --module, --pin and --token")
        d = tempfile.mkdtemp(prefix="interop-%s-" % name, dir=TMP_ROOT)
        t = Target("none", a.module, a.pin, a.token, d, dict(os.environ))
    t.keep = a.keep
    if a.spy:
        t.env["PKCS11SPY"] = t.module
        t.env["PKCS11SPY_OUTPUT"] = t.path("spy.log")
        t.module = SPY_MODULE
        t.keep = True
    print("target %s: module %s, token %r, dir %s" % (t.name, t.module,
                                                      t.token, t.dir),
          flush=True)
    return t


class Checks:
    """Counts checks; each is a function raising on failure."""

    def __init__(self, target):
        self.t = target
        self.passed = 0
        self.failed = 0
        self.failures = []

    def need_tools(self, *tools):
        ok = True
        for tool in tools:
            if shutil.which(tool) is None and not os.path.exists(tool):
                self.fail("tool %s" % tool, "not installed")
                ok = False
        return ok

    def fail(self, name, msg):
        self.failed += 1
        self.failures.append("%s %s" % (name, ",".join(ckr_of(msg))))
        print("FAIL %s: %s" % (name, msg), flush=True)

    def check(self, name, fn, *args, **kw):
        t0 = time.time()
        try:
            r = fn(*args, **kw)
        except Exception as e:
            self.failed += 1
            self.failures.append("%s %s" % (name, ",".join(ckr_of(str(e)))))
            print("FAIL %s (%.1fs): %s" % (name, time.time() - t0,
                                           _short(e)), flush=True)
            if not isinstance(e, (AssertionError, subprocess.SubprocessError)):
                traceback.print_exc()
            return None
        self.passed += 1
        print("PASS %s (%.1fs)" % (name, time.time() - t0), flush=True)
        return r

    def finish(self):
        if self.failed and self.t is not None:
            tail = self.t.log_tail()
            if tail:
                print(tail)
            print("failed: " + "; ".join(self.failures))
        print("%d passed, %d failed" % (self.passed, self.failed))
        if self.t is not None:
            self.t.close(keep=getattr(self.t, "keep", False) or False)
        sys.exit(1 if self.failed else 0)


def _short(e):
    s = str(e)
    return s if len(s) < 3000 else s[:3000] + "..."


def run(argv, env, timeout=120, input=None, check=True, cwd=None,
        text=True):
    """Runs a command; on failure raises with the command and its output."""
    p = subprocess.run(argv, env=env, input=input, capture_output=True,
                       timeout=timeout, cwd=cwd, text=text,
                       stdin=None if input is not None else
                       subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError("%s -> exit %d\n%s%s" % (
            " ".join(argv), p.returncode, _tail(p.stdout), _tail(p.stderr)))
    return p


def _tail(s):
    if s is None:
        return ""
    if isinstance(s, bytes):
        s = s.decode(errors="replace")
    return s[-2500:]


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def ckr_of(text):
    """The CKR_* names in a tool's output (for the report)."""
    return sorted(set(re.findall(r"CKR_[A-Z_]+", text or "")))


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def slot_of_token(t):
    """The slot ID (decimal) holding the token, from pkcs11-tool -L."""
    p = run(["pkcs11-tool", "--module", t.module, "-L"], t.env)
    slot = None
    for line in p.stdout.splitlines():
        m = re.match(r"Slot \d+ \((0x[0-9a-fA-F]+)\)", line)
        if m:
            slot = int(m.group(1), 16)
            continue
        m = re.match(r"\s+token label\s*:\s*(.*)$", line)
        if m and slot is not None and m.group(1).strip() == t.token:
            return slot
    raise AssertionError("token %r not in pkcs11-tool -L:\n%s" %
                         (t.token, p.stdout))


def write_openssl_cnf(path, target, engine=ENGINE, init=0):
    """An openssl.cnf loading libp11's engine for the target's module
    (init=1: initialize it at load time, as nginx needs)."""
    with open(path, "w") as fh:
        fh.write("""openssl_conf = openssl_init

[openssl_init]
engines = engine_section

[engine_section]
pkcs11 = pkcs11_section

[pkcs11_section]
engine_id = pkcs11
dynamic_path = %s
MODULE_PATH = %s
PIN = %s
init = %d

[req]
distinguished_name = req_dn
[req_dn]
""" % (engine, target.module, target.pin, init))
