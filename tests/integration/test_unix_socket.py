# SPDX-License-Identifier: Apache-2.0
"""The node's local listener ("unix_socket"): the same frames as on TCP,
without TLS, on a unix stream socket. The CLI, libcoffer and the PKCS#11
module reach a node through "unix:PATH"; results are checked with openssl
and against the TLS path. Bad input there gets the same errors as on TCP;
the node and libcoffer refuse a socket in a directory other users could
write; stale sockets are replaced, live ones are not."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time

from harness import (COFFER, COFFERD, EXIT_CONN, Env, Node, RC, OP_GET_INFO,
                     OP_LOGIN, OP_PING, UnixConn, make_user, openssl,
                     pb_field, pb_request, run)

PW = "Alice-Passw0rd-1"


def unix_env(name, mode=None):
    """An Env whose node also listens on <dir>/run/cofferd.sock."""
    env = Env(name)
    run_dir = os.path.join(env.dir, "run")
    os.mkdir(run_dir, 0o700)
    env.sock = os.path.join(run_dir, "cofferd.sock")
    with open(env.node.config) as f:
        cfg = json.load(f)
    cfg["unix_socket"] = env.sock
    if mode is not None:
        cfg["unix_socket_mode"] = mode
    with open(env.node.config, "w") as f:
        json.dump(cfg, f)
    # The CLI over the socket: a relative path, no trust anchor (no TLS).
    env.unix_config = os.path.join(env.dir, "unix.json")
    with open(env.unix_config, "w") as f:
        json.dump({"servers": ["unix:run/cofferd.sock"]}, f)
    return env


def ucli(env, *args, user=None, password=None, check=True):
    e = dict(os.environ)
    e.pop("COFFER_CONFIG", None)
    e.pop("COFFER_PASSWORD", None)
    if password is not None:
        e["COFFER_PASSWORD"] = password
    argv = [COFFER, "--config", env.unix_config] + [str(a) for a in args]
    if user is not None:
        argv += ["--user", user]
    p = subprocess.run(argv, env=e, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("coffer %s (unix) failed (%d): %s %s" %
                             (" ".join(map(str, args)), p.returncode,
                              p.stdout, p.stderr))
    return p


def path(env, name):
    return os.path.join(env.dir, name)


def write(env, name, data):
    with open(path(env, name), "wb") as f:
        f.write(data)
    return path(env, name)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def asan_runtime(lib):
    """The ASan runtime lib links to, or None (not a sanitizer build)."""
    out = subprocess.run(["ldd", lib], capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        if "libasan" in line and "=>" in line:
            return line.split("=>")[1].split()[0]
    return None


def test_unix_end_to_end():
    env = unix_env("unix-e2e")
    try:
        env.node.start()
        env.ceremony()
        st = os.stat(env.sock)
        assert oct(st.st_mode & 0o777) == oct(0o660), oct(st.st_mode)

        info = json.loads(ucli(env, "--json", "cluster", "info").stdout)
        assert info["state"] == "ACTIVE", info
        make_user(env, "alice", PW)
        au = dict(user="alice", password=PW)

        # Keys made over the socket, signatures checked by openssl.
        ucli(env, "key", "generate-ec", "--curve", "p256", "--label", "p256",
             **au)
        ucli(env, "key", "generate-aes", "--bits", 256, "--label", "aes",
             **au)
        pem = path(env, "p256.pem")
        ucli(env, "key", "export-public", "p256", "--out", pem, **au)
        data = write(env, "data", os.urandom(3 * 1024 * 1024 + 17))
        sig = path(env, "data.sig")
        ucli(env, "crypto", "sign", "--label", "p256", "--mech",
             "ecdsa-sha256", "--in", data, "--out", sig, **au)
        p = openssl("dgst", "-sha256", "-verify", pem, "-signature", sig,
                    data, check=False)
        assert p.returncode == 0, p.stderr
        # Many signatures in one pipelined call (plain frames, pipelined).
        outd = path(env, "sigs")
        os.mkdir(outd)
        files = [write(env, "f%d" % i, os.urandom(1000 + i))
                 for i in range(40)]
        ucli(env, "crypto", "sign", "--label", "p256", "--mech",
             "ecdsa-sha256", "--out", outd, *files, **au)
        for f in files:
            p = openssl("dgst", "-sha256", "-verify", pem, "-signature",
                        os.path.join(outd, os.path.basename(f) + ".sig"), f,
                        check=False)
            assert p.returncode == 0, (f, p.stderr)

        # Large frames both ways: 3 MiB encrypted over the socket decrypt
        # over TLS and the other way round.
        ct, back = path(env, "ct"), path(env, "back")
        ucli(env, "crypto", "encrypt", "--label", "aes", "--mech", "aes-gcm",
             "--in", data, "--out", ct, **au)
        env.as_user("alice", PW, "crypto", "decrypt", "--label", "aes",
                    "--mech", "aes-gcm", "--in", ct, "--out", back)
        assert read(back) == read(data)
        env.as_user("alice", PW, "crypto", "encrypt", "--label", "aes",
                    "--mech", "aes-gcm", "--in", data, "--out", ct)
        os.unlink(back)
        ucli(env, "crypto", "decrypt", "--label", "aes", "--mech", "aes-gcm",
             "--in", ct, "--out", back, **au)
        assert read(back) == read(data)
        rnd = path(env, "rnd")
        ucli(env, "crypto", "random", "--bytes", 1048576, "--out", rnd, **au)
        assert len(read(rnd)) == 1048576

        # A wrong password over the socket: refused, not echoed.
        p = ucli(env, "crypto", "random", "--bytes", 16, user="alice",
                 password="Wrong-Passw0rd-9", check=False)
        assert p.returncode == 4, (p.returncode, p.stderr)
        assert "Wrong-Passw0rd-9" not in p.stdout + p.stderr

        # The PKCS#11 module over the socket: pkcs11-tool signs, openssl
        # verifies.
        mod = os.environ.get("COFFER_PKCS11")
        if mod and shutil.which("pkcs11-tool"):
            conf = path(env, "p11.json")
            with open(conf, "w") as f:
                json.dump({"slots": [{"label": "coffer", "client_config":
                                      env.unix_config}]}, f)
            e = dict(os.environ, COFFER_PKCS11_CONF=conf)
            # An ASan build of the module needs the runtime first in the
            # (uninstrumented) pkcs11-tool; its own leaks are not ours.
            asan = asan_runtime(mod)
            if asan:
                e["LD_PRELOAD"] = asan
                e["ASAN_OPTIONS"] = "detect_leaks=0"
            small = write(env, "small", b"signed through PKCS#11\n")
            raw = path(env, "p11.sig")
            p = subprocess.run(
                ["pkcs11-tool", "--module", mod, "--login", "--pin",
                 "alice:" + PW, "--sign", "-m", "ECDSA-SHA256", "--label",
                 "p256", "--signature-format", "openssl", "-i", small, "-o",
                 raw], env=e, capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stdout + p.stderr
            p = openssl("dgst", "-sha256", "-verify", pem, "-signature", raw,
                        small, check=False)
            assert p.returncode == 0, p.stderr
        else:
            raise AssertionError("pkcs11-tool or COFFER_PKCS11 missing")

        # The audit log names local peers by their credentials.
        exp = path(env, "audit.jsonl")
        env.co("audit", "export", "--out", exp)
        recs = [json.loads(line) for line in open(exp)]
        peers = {r.get("peer", "") for r in recs}
        want = "unix:uid=%d," % os.getuid()
        assert any(p.startswith(want) for p in peers), peers

        # Stopping removes the socket file.
        env.node.stop()
        assert not os.path.exists(env.sock)
    finally:
        env.close()


def test_unix_bad_input():
    env = unix_env("unix-bad")
    try:
        env.node.start()
        env.ceremony()

        def healthy():
            c = UnixConn(env.sock)
            r = c.call(77, OP_PING)
            c.close()
            assert r is not None and r["rc"] == 0 and r["id"] == 77, r
            assert env.node.alive()

        c = UnixConn(env.sock)
        r = c.call(1, OP_GET_INFO)
        assert r["rc"] == 0 and r["id"] == 1, r
        # Garbage frames: E_FORMAT, connection still usable.
        for _ in range(20):
            c.send_frame(os.urandom(64))
            r = c.response()
            assert r is not None, "closed on a garbage frame"
            assert r["rc"] in (RC["E_FORMAT"], RC["E_UNSUPPORTED"]), r
        r = c.call(2, OP_PING)
        assert r["rc"] == 0 and r["id"] == 2, r
        # Not logged in.
        r = c.call(3, 40)
        assert r["rc"] in (RC["E_NOTLOGGEDIN"], RC["E_UNSUPPORTED"]), r
        c.close()
        # Oversize announcement: E_TOOBIG, then closed.
        c = UnixConn(env.sock)
        c.send_raw(struct.pack(">I", 0xFFFFFFF0) + b"x" * 100)
        r = c.response()
        assert r is not None and r["rc"] == RC["E_TOOBIG"], r
        assert c.response() is None
        c.close()
        c = UnixConn(env.sock)
        c.send_raw(struct.pack(">I", 0))
        r = c.response()
        assert r is not None and r["rc"] == RC["E_FORMAT"], r
        c.close()
        # Clients vanishing mid-frame and mid-request.
        for _ in range(10):
            c = UnixConn(env.sock)
            c.send_raw(struct.pack(">I", 1000) + b"y" * 10)
            c.close()
            c = UnixConn(env.sock)
            body = pb_field(1, 2, b"nobody") + pb_field(2, 2, b"wrong")
            c.send_frame(pb_request(5, OP_LOGIN, body))
            c.close()
        healthy()
        # Wrong login: E_AUTH.
        c = UnixConn(env.sock)
        body = pb_field(1, 2, b"nobody") + pb_field(2, 2, b"wrong")
        r = c.call(6, OP_LOGIN, body)
        assert r["rc"] == RC["E_AUTH"], r
        # 300 pipelined requests in one write, matched by id.
        ids = list(range(1000, 1300))
        c.send_raw(b"".join(struct.pack(">I", len(p)) + p for p in
                            (pb_request(i, OP_PING if i % 2 else OP_GET_INFO)
                             for i in ids)))
        got = sorted(c.response()["id"] for _ in ids)
        assert got == ids
        c.close()
        healthy()
    finally:
        env.close()


def wait_exit(proc, timeout=20):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("cofferd did not exit")


def test_unix_refusals():
    env = unix_env("unix-refuse", mode="0600")
    try:
        n = env.node
        n.start()
        assert oct(os.stat(env.sock).st_mode & 0o777) == oct(0o600)

        # A second node on the same socket path refuses to start and
        # leaves the live socket alone.
        other = Node(env.dir, node_id=2,
                     extra={"unix_socket": env.sock})
        p = subprocess.run([COFFERD, "--config", other.config],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0, p.stdout + p.stderr
        assert "another process is listening" in open(other.log_file).read()
        assert n.alive() and os.path.exists(env.sock)

        # libcoffer refuses the socket once its directory is writable by
        # others (someone else could have put it there).
        os.chmod(os.path.dirname(env.sock), 0o770)
        p = ucli(env, "cluster", "info", check=False)
        assert p.returncode == EXIT_CONN, (p.returncode, p.stdout, p.stderr)
        assert "refusing the socket" in p.stderr, p.stderr
        os.chmod(os.path.dirname(env.sock), 0o700)
        ucli(env, "cluster", "info")
        # --server takes unix:PATH too; a socket has no certificate to
        # fingerprint.
        p = subprocess.run([COFFER, "cluster", "info", "--server",
                            "unix:" + env.sock], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0 and "UNINITIALIZED" in p.stdout, \
            (p.stdout, p.stderr)
        p = subprocess.run([COFFER, "cluster", "fingerprint", "--server",
                            "unix:" + env.sock], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode != 0, p.stdout
        assert "no TLS certificate" in p.stderr, p.stderr

        # A node killed hard leaves its socket file; the next start
        # replaces it.
        n.kill9()
        assert os.path.exists(env.sock)
        n.start()
        ucli(env, "cluster", "info")
        assert "replacing a stale socket" in open(n.log_file).read()
        n.stop()
        assert not os.path.exists(env.sock)

        # The node refuses a directory others can write, and a path that
        # is not a socket.
        def refused(sock_path, why, mode=None):
            cfg_path = os.path.join(env.dir, "bad.json")
            with open(n.config) as f:
                cfg = json.load(f)
            cfg["unix_socket"] = sock_path
            cfg["log_file"] = os.path.join(env.dir, "bad.log")
            if mode is not None:
                cfg["unix_socket_mode"] = mode
            with open(cfg_path, "w") as f:
                json.dump(cfg, f)
            if os.path.exists(cfg["log_file"]):
                os.unlink(cfg["log_file"])
            proc = subprocess.Popen([COFFERD, "--config", cfg_path],
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            rc = wait_exit(proc)
            out = proc.stdout.read()
            if os.path.exists(cfg["log_file"]):
                out += open(cfg["log_file"]).read()
            assert rc != 0, out
            assert why in out, (why, out)

        shared = os.path.join(env.dir, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        refused(os.path.join(shared, "c.sock"), "writable by group or others")
        if os.geteuid() == 0:
            # A directory of another user (root may chown in the test).
            theirs = os.path.join(env.dir, "theirs")
            os.mkdir(theirs, 0o700)
            os.chown(theirs, 54321, 54321)
            refused(os.path.join(theirs, "c.sock"), "neither root nor")
        plain = os.path.join(env.dir, "run", "file")
        open(plain, "w").close()
        refused(plain, "not a socket")
        refused(env.sock, "unix_socket_mode", mode="0066")
        refused(env.sock, "unix_socket_mode", mode="rw")
        refused("x" * 120, "unix_socket")

        # Client configuration errors are named.
        bad = os.path.join(env.dir, "badclient.json")
        for server in ("unix:", "unix:" + "y" * 120):
            with open(bad, "w") as f:
                json.dump({"servers": [server]}, f)
            p = subprocess.run([COFFER, "--config", bad, "cluster", "info"],
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 2, (p.returncode, p.stderr)
            assert "unix:PATH" in p.stderr, p.stderr
        # Nobody listening: a connection error, not a hang.
        with open(bad, "w") as f:
            json.dump({"servers": ["unix:" + env.sock]}, f)
        p = subprocess.run([COFFER, "--config", bad, "cluster", "info"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == EXIT_CONN, (p.returncode, p.stderr)
    finally:
        env.close()


if __name__ == "__main__":
    run([test_unix_end_to_end, test_unix_bad_input, test_unix_refusals])
