# SPDX-License-Identifier: Apache-2.0
"""Integration test harness: real cofferd processes on 127.0.0.1, driven by
the real `coffer` CLI and by raw TLS sockets. Standard library only.

Environment (set by ctest): COFFERD, COFFER (binaries), COFFER_TEST_TMP.
"""
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import traceback

COFFERD = os.environ.get("COFFERD", "cofferd")
COFFER = os.environ.get("COFFER", "coffer")
TMP_ROOT = os.environ.get("COFFER_TEST_TMP", "/tmp")

# Exit statuses of the CLI (docs/man/coffer.1).
EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CONN, EXIT_AUTH = 0, 1, 2, 3, 4

CANARY_PASSWORD = "Canary-Secret-7f3a9c1e"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    def __init__(self, workdir, node_id=1, extra=None):
        self.workdir = workdir
        self.port = free_port()
        self.raft_port = free_port()
        self.data_dir = os.path.join(workdir, "node%d" % node_id)
        self.log_file = os.path.join(workdir, "node%d.log" % node_id)
        self.out_file = os.path.join(workdir, "node%d.out" % node_id)
        self.config = os.path.join(workdir, "node%d.json" % node_id)
        cfg = {
            "node_id": node_id,
            "listen": "127.0.0.1:%d" % self.port,
            "raft_address": "127.0.0.1:%d" % self.raft_port,
            "data_dir": self.data_dir,
            "log_file": self.log_file,
            "log_level": "debug",
        }
        if extra:
            cfg.update(extra)
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        self.proc = None

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def start(self, args=()):
        out = open(self.out_file, "ab")
        self.proc = subprocess.Popen([COFFERD, "--config", self.config] +
                                     list(args), stdout=out, stderr=out)
        out.close()
        self.wait_listening()

    def wait_listening(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("cofferd exited with %d:\n%s" %
                                     (self.proc.returncode, self.output()))
            try:
                s = socket.create_connection(("127.0.0.1", self.port), 0.2)
                s.close()
                fp = os.path.join(self.data_dir, "bootstrap-fingerprint")
                if os.path.exists(fp) or os.path.exists(
                        os.path.join(self.data_dir, "ZEROIZED")):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("cofferd did not start listening:\n" +
                             self.output())

    def fingerprint(self):
        with open(os.path.join(self.data_dir, "bootstrap-fingerprint")) as f:
            return f.read().strip()

    def preco_password(self):
        with open(os.path.join(self.data_dir, "preco-password")) as f:
            return f.read().strip()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("cofferd did not stop on signal %d" %
                                     sig)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        text = ""
        for p in (self.out_file, self.log_file):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    text += f.read()[-6000:]
        return text


class Env:
    """A test work directory with a node, a development CA and helpers."""

    def __init__(self, name, node_extra=None):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="it-%s-" % name, dir=TMP_ROOT)
        self.node = Node(self.dir, extra=node_extra)
        self.client_config = os.path.join(self.dir, "client.json")
        self.ca_dir = os.path.join(self.dir, "ca")
        self.admin = ("admin", "Admin-Passw0rd-1")

    def cli(self, *args, password=None, new_password=None, config=True,
            check=True, timeout=60, extra_env=None):
        env = dict(os.environ)
        env.pop("COFFER_PASSWORD", None)
        env.pop("COFFER_CONFIG", None)
        if password is not None:
            env["COFFER_PASSWORD"] = password
        if new_password is not None:
            env["COFFER_NEW_PASSWORD"] = new_password
        if extra_env:
            env.update(extra_env)
        argv = [COFFER]
        if config:
            argv += ["--config", self.client_config]
        argv += list(args)
        if new_password is not None and "--new-password-env" not in args:
            argv += ["--new-password-env", "COFFER_NEW_PASSWORD"]
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("coffer %s failed (%d):\nstdout: %s\n"
                                 "stderr: %s" % (" ".join(args), p.returncode,
                                                 p.stdout, p.stderr))
        return p

    def cli_json(self, *args, **kw):
        p = self.cli("--json", *args, **kw)
        return json.loads(p.stdout)

    def as_user(self, user, password, *args, **kw):
        return self.cli(*args, "--user", user, password=password, **kw)

    def ceremony(self, activate=True):
        """Fresh node -> INITIALIZED (-> ACTIVE with CO admin)."""
        n = self.node
        fp = n.fingerprint()
        seen = self.cli("cluster", "fingerprint", "--server", n.addr,
                        config=False).stdout.strip()
        assert seen == fp, "fingerprint %r != %r" % (seen, fp)
        self.cli("ca", "create", "--out", self.ca_dir, config=False)
        csr = os.path.join(self.dir, "cluster.csr")
        crt = os.path.join(self.dir, "cluster.crt")
        self.cli("cluster", "init", "--server", n.addr, "--pin", fp, "--out",
                 csr, config=False)
        self.cli("ca", "sign", "--ca", self.ca_dir, "--csr", csr, "--out", crt,
                 config=False)
        self.preco = n.preco_password()
        self.cli("cluster", "initialize", "--server", n.addr, "--pin", fp,
                 "--user", "preco", "--cert", crt, "--ca", self.ca_cert(),
                 password=self.preco, config=False)
        with open(self.client_config, "w") as f:
            json.dump({"servers": [n.addr], "trust_anchor": self.ca_cert()},
                      f)
        if activate:
            self.cli("cluster", "activate", "--user", "preco", "--co-user",
                     self.admin[0], password=self.preco,
                     new_password=self.admin[1])

    def ca_cert(self):
        return os.path.join(self.ca_dir, "ca.crt")

    def co(self, *args, **kw):
        return self.as_user(self.admin[0], self.admin[1], *args, **kw)

    def info(self):
        return self.cli_json("cluster", "info")

    def close(self, keep=False):
        # Called from a test's finally: when the test is failing, show
        # the node's output before its directory goes (a failure in CI
        # is otherwise left without the node's side of the story).
        failing = sys.exc_info()[0] is not None
        try:
            self.node.stop()
        except AssertionError:
            pass
        if failing:
            print("--- node output (%s) ---\n%s\n--- end of node output ---"
                  % (self.dir, self.node.output()), flush=True)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- raw protocol ---------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def pb_request(req_id, opcode, body=b"", idem=None):
    msg = pb_field(1, 0, req_id)
    if idem:
        msg += pb_field(3, 2, idem)
    msg += pb_field(opcode, 2, body)
    return msg


def pb_parse(buf):
    """Top-level fields of a protobuf message: {num: [values]}."""
    fields, i = {}, 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _read_varint(buf, i)
        elif wire == 2:
            ln, i = _read_varint(buf, i)
            val = buf[i:i + ln]
            i += ln
        elif wire == 5:
            val = buf[i:i + 4]
            i += 4
        elif wire == 1:
            val = buf[i:i + 8]
            i += 8
        else:
            raise ValueError("wire type %d" % wire)
        fields.setdefault(num, []).append(val)
    return fields


def _read_varint(buf, i):
    shift = n = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def zigzag(n):
    return (n >> 1) ^ -(n & 1)


class RawConn:
    """A TLS connection speaking raw frames (no certificate checks: these
    tests probe the node's input handling, not trust)."""

    def __init__(self, addr, timeout=10):
        host, port = addr.rsplit(":", 1)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        raw = socket.create_connection((host, int(port)), timeout)
        self.sock = ctx.wrap_socket(raw)
        self.sock.settimeout(timeout)

    def send_frame(self, payload):
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv_frame(self):
        hdr = self._recv_exact(4)
        if hdr is None:
            return None
        (ln,) = struct.unpack(">I", hdr)
        return self._recv_exact(ln)

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except (ssl.SSLError, ConnectionError):
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def call(self, req_id, opcode, body=b"", idem=None):
        self.send_frame(pb_request(req_id, opcode, body, idem))
        return self.response()

    def response(self):
        f = self.recv_frame()
        if f is None:
            return None
        p = pb_parse(f)
        return {"id": p.get(1, [0])[0], "rc": zigzag(p.get(2, [0])[0]),
                "detail": p.get(3, [b""])[0].decode(errors="replace"),
                "fields": p}

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class UnixConn(RawConn):
    """Raw frames on a node's unix socket (no TLS there)."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)


# Opcodes (oneof numbers of Request.body in proto/coffer.proto).
OP_GET_INFO, OP_LOGIN, OP_USER_CREATE, OP_PING = 16, 20, 22, 29
RC = {"OK": 0, "E_FORMAT": -4, "E_TOOBIG": -5, "E_AUTH": -7,
      "E_NOTLOGGEDIN": -14, "E_LOCKED": -15, "E_UNSUPPORTED": -12,
      "E_ROLE": -52, "E_STATE": -13, "E_ZEROIZED": -28}


# --- runner ---------------------------------------------------------------

def run(tests):
    """Runs test functions; prints 'N passed, N failed' (read by CI)."""
    passed = failed = 0
    for t in tests:
        name = t.__name__
        t0 = time.time()
        try:
            t()
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.time() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s (%.1fs)" % (name, time.time() - t0), flush=True)
            traceback.print_exc()
            sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


# --- helpers for the key and crypto tests (issue 3) -----------------------

def openssl(*args, check=True, input=None, timeout=120):
    """Runs the openssl CLI (the independent side of the crypto tests);
    returns the CompletedProcess (bytes)."""
    p = subprocess.run(["openssl"] + [str(a) for a in args], input=input,
                       capture_output=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("openssl %s failed (%d): %s" %
                             (" ".join(str(a) for a in args), p.returncode,
                              p.stderr.decode(errors="replace")))
    return p


class User:
    """A logged-in identity for CLI calls: run(...) and json(...)."""

    def __init__(self, env, name, password):
        self.env, self.name, self.password = env, name, password

    def run(self, *args, **kw):
        return self.env.as_user(self.name, self.password,
                                *[str(a) for a in args], **kw)

    def json(self, *args, **kw):
        return json.loads(self.run("--json", *args, **kw).stdout)

    def fails(self, *args, **kw):
        """Runs a command that must fail; returns the CompletedProcess."""
        p = self.run(*args, check=False, **kw)
        assert p.returncode != EXIT_OK, \
            "coffer %s succeeded as %s:\n%s" % (" ".join(map(str, args)),
                                                self.name, p.stdout)
        return p


def make_user(env, name, password, role="cu"):
    """Creates a user as the CO; returns a User."""
    env.co("user", "create", name, "--role", role, new_password=password)
    return User(env, name, password)
