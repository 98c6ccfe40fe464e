#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs p11conf against libcoffer-pkcs11.so and a live local cofferd.

Usage: run_coffer.py P11CONF [extra p11conf options]
Environment: COFFERD, COFFER (CLI), COFFER_PKCS11 (module), as for the
interop tests (tests/interop/interop.py starts the node, runs the
ceremony and creates a crypto user). The SO PIN is the crypto officer's
"user:password". Documented differences from SoftHSMv2 are in
docs/INTEGRATIONS.md ("Conformance program").
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import interop  # noqa: E402


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    p11conf = sys.argv[1]
    t = interop.setup_coffer("p11conf", token="coffer")
    rc = 1
    try:
        argv = [p11conf, "--module", t.module, "--pin", t.pin]
        argv += sys.argv[2:]
        p = subprocess.run(argv, env=t.env, timeout=600)
        rc = p.returncode
        if rc != 0:
            print(t.log_tail())
    finally:
        t.close(keep=os.environ.get("P11CONF_KEEP") == "1")
    return rc


if __name__ == "__main__":
    sys.exit(main())
