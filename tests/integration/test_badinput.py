# SPDX-License-Identifier: Apache-2.0
"""Bad input on the socket gets a clean error or close, and other clients
keep being served."""
import os
import socket
import ssl
import struct
import threading

from harness import (Env, run, RawConn, pb_field, pb_request, RC, OP_PING,
                     OP_GET_INFO, OP_LOGIN)


def healthy(env):
    c = RawConn(env.node.addr)
    r = c.call(99, OP_PING)
    c.close()
    assert r is not None and r["rc"] == 0 and r["id"] == 99, r
    assert env.node.alive()


def test_bad_input():
    env = Env("badinput")
    try:
        n = env.node
        n.start()
        env.ceremony()
        host, port = "127.0.0.1", n.port

        # 1. Garbage before TLS: closed, node alive.
        for blob in (os.urandom(300), b"GET / HTTP/1.0\r\n\r\n",
                     b"\x16\x03\x01\x00\x05hello"):
            s = socket.create_connection((host, port), 5)
            s.sendall(blob)
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except (ConnectionError, socket.timeout):
                pass
            s.close()
        healthy(env)

        # 2. TLS 1.2 is refused.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.wrap_socket(socket.create_connection((host, port), 5))
            raise AssertionError("TLS 1.2 handshake succeeded")
        except (ssl.SSLError, ConnectionError):
            pass
        healthy(env)

        # 3. Garbage frames: a clean error reply (E_FORMAT), the connection
        #    keeps working or is closed; never a crash.
        c = RawConn(n.addr)
        for _ in range(20):
            c.send_frame(os.urandom(64))
            r = c.response()
            if r is None:
                break
            assert r["rc"] in (RC["E_FORMAT"], RC["E_UNSUPPORTED"]), r
        c.close()
        healthy(env)

        # 4. Unknown opcode.
        c = RawConn(n.addr)
        r = c.call(5, 63)
        assert r["id"] == 5 and r["rc"] == RC["E_UNSUPPORTED"], r
        r = c.call(6, 1000)
        assert r["rc"] == RC["E_UNSUPPORTED"], r
        # A request with no body at all.
        c.send_frame(pb_field(1, 0, 8))
        r = c.response()
        assert r["rc"] == RC["E_UNSUPPORTED"], r
        c.close()

        # 5. Oversize frame announcement: error reply or close, nothing
        #    allocated; node alive.
        c = RawConn(n.addr)
        c.send_raw(struct.pack(">I", 0xFFFFFFF0) + b"x" * 100)
        r = c.response()
        assert r is None or r["rc"] == RC["E_TOOBIG"], r
        assert c.response() is None  # closed
        c.close()
        # Zero-length frame.
        c = RawConn(n.addr)
        c.send_raw(struct.pack(">I", 0))
        r = c.response()
        assert r is None or r["rc"] == RC["E_FORMAT"], r
        c.close()
        healthy(env)

        # 6. A client vanishing mid-frame and mid-request.
        for _ in range(10):
            c = RawConn(n.addr)
            c.send_raw(struct.pack(">I", 1000) + b"y" * 10)
            c.close()
            c = RawConn(n.addr)
            # (An unknown user: ten wrong CO passwords would zeroize.)
            body = pb_field(1, 2, b"nobody") + pb_field(2, 2, b"wrong")
            c.send_frame(pb_request(1, OP_LOGIN, body))
            c.close()
        healthy(env)

        # 7. Many requests in flight on one connection, replies matched by
        #    id (the order may differ).
        c = RawConn(n.addr)
        ids = list(range(1000, 1200))
        c.send_raw(b"".join(struct.pack(">I", len(p)) + p for p in
                            (pb_request(i, OP_PING if i % 2 else OP_GET_INFO)
                             for i in ids)))
        got = []
        for _ in ids:
            r = c.response()
            assert r is not None and r["rc"] == 0, r
            got.append(r["id"])
        assert sorted(got) == ids
        c.close()

        # 8. Bad clients hammer while a good one keeps working.
        stop = threading.Event()
        def hammer():
            while not stop.is_set():
                try:
                    s = socket.create_connection((host, port), 2)
                    s.sendall(os.urandom(200))
                    s.close()
                except OSError:
                    pass
        ts = [threading.Thread(target=hammer) for _ in range(3)]
        for t in ts:
            t.start()
        try:
            for _ in range(5):
                env.co("user", "list")
        finally:
            stop.set()
            for t in ts:
                t.join()
        healthy(env)
    finally:
        env.close()


if __name__ == "__main__":
    run([test_bad_input])
