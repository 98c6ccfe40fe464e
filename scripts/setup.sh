#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package Coffer needs to build, test and run.
# Idempotent; used by the README commands and by .ci/run.
set -euo pipefail

PKGS=(
	build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
	clang-format
	libssl-dev openssl libuv1-dev libraft-dev liblz4-dev
	libprotobuf-c-dev protobuf-c-compiler libjansson-dev
	libmicrohttpd-dev libedit-dev libp11-kit-dev libcmocka-dev
	python3 python3-cryptography procps psmisc
	opensc gnutls-bin libengine-pkcs11-openssl softhsm2 p11-kit
	nginx-light apache2 curl openjdk-17-jdk-headless
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
		|| missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"
