#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The local default: builds Coffer, starts one node on 127.0.0.1 in a work
# directory, runs the initialization ceremony with a generated development
# CA, activates the cluster, creates a crypto user, writes client configs
# (client.json over TLS on 127.0.0.1, local.json over the node's local
# unix socket, no TLS), shows how to use them, and keeps the node running until Ctrl-C or
# `scripts/coffer-local.sh stop`.
#
#   scripts/coffer-local.sh [start]   (default)
#   scripts/coffer-local.sh stop
#   scripts/coffer-local.sh status
#
# Environment: COFFER_WORK (default ./work), COFFER_PORT (default 2225).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${COFFER_WORK:-$top/work}
port=${COFFER_PORT:-2225}
raft_port=$((port + 1))
bin=$top/build/release

cmd=${1:-start}

case "$cmd" in
stop)
	if [ -f "$work/cofferd.pid" ] && kill -0 "$(cat "$work/cofferd.pid")" 2>/dev/null; then
		kill -TERM "$(cat "$work/cofferd.pid")"
		echo "coffer-local: stopped cofferd (pid $(cat "$work/cofferd.pid"))"
	else
		echo "coffer-local: no running node in $work"
	fi
	exit 0
	;;
status)
	export COFFER_CONFIG=$work/client.json
	exec "$bin/src/cli/coffer" cluster info
	;;
start) ;;
*)
	echo "usage: $0 [start|stop|status]" >&2
	exit 64
	;;
esac

bash "$top/scripts/setup.sh"
cmake --preset release -S "$top" >/dev/null
cmake --build "$bin" --target cofferd coffer_cli coffer-pkcs11 >/dev/null
coffer=$bin/src/cli/coffer
cofferd=$bin/src/hsm/cofferd

mkdir -p "$work" "$work/run"
chmod 700 "$work" "$work/run"
cd "$work"

if [ -f "$work/cofferd.pid" ] && kill -0 "$(cat "$work/cofferd.pid")" 2>/dev/null; then
	echo "coffer-local: a node is already running (pid $(cat cofferd.pid)); '$0 stop' first" >&2
	exit 1
fi

if [ ! -f node.json ]; then
	cat >node.json <<JSON
{
  "node_id": 1,
  "listen": "127.0.0.1:$port",
  "raft_address": "127.0.0.1:$raft_port",
  "data_dir": "$work/node1",
  "log_file": "$work/node1.log",
  "log_level": "info",
  "unix_socket": "$work/run/cofferd.sock"
}
JSON
fi

"$cofferd" --config node.json >"$work/cofferd.out" 2>&1 &
pid=$!
echo "$pid" >cofferd.pid
cleanup() {
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$work/cofferd.pid"
	echo "coffer-local: node stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Wait for the node to publish its bootstrap fingerprint.
for _ in $(seq 1 100); do
	[ -s node1/bootstrap-fingerprint ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/cofferd.out" >&2; exit 1; }
	sleep 0.1
done
fp=$(cat node1/bootstrap-fingerprint)

if [ ! -f client.json ]; then
	echo "coffer-local: fresh node; bootstrap fingerprint $fp"
	# The CLI pins what the node printed: compare before trusting.
	seen=$("$coffer" cluster fingerprint --server "127.0.0.1:$port")
	[ "$seen" = "$fp" ] || { echo "fingerprint mismatch: $seen" >&2; exit 1; }

	[ -f ca/ca.crt ] || "$coffer" ca create --out ca --cn "Coffer local development CA"
	"$coffer" cluster init --server "127.0.0.1:$port" --pin "$fp" --out cluster.csr
	"$coffer" ca sign --ca ca --csr cluster.csr --out cluster.crt
	COFFER_PASSWORD=$(cat node1/preco-password) \
		"$coffer" cluster initialize --server "127.0.0.1:$port" --pin "$fp" \
		--user preco --cert cluster.crt --ca ca/ca.crt

	umask 077
	head -c 18 /dev/urandom | base64 | tr -d '/+=' >admin.password
	head -c 18 /dev/urandom | base64 | tr -d '/+=' >crypto-user.password
	COFFER_PASSWORD=$(cat node1/preco-password) \
		"$coffer" cluster activate --server "127.0.0.1:$port" --ca ca/ca.crt \
		--user preco --co-user admin --new-password-file admin.password
	cat >client.json <<JSON
{
  "servers": ["127.0.0.1:$port"],
  "trust_anchor": "ca/ca.crt"
}
JSON
	COFFER_CONFIG=client.json "$coffer" user create crypto-user --role cu \
		--user admin --password-file admin.password \
		--new-password-file crypto-user.password
fi
# Clients on this machine can use the node's local socket (same protocol,
# no TLS; docs/OPERATIONS.md), if this node.json has one.
if grep -q '"unix_socket"' node.json && [ ! -f local.json ]; then
	cat >local.json <<JSON
{ "servers": ["unix:run/cofferd.sock"] }
JSON
fi

export COFFER_CONFIG=$work/client.json
# A node restarted on an existing work directory publishes its old
# fingerprint at once but takes a moment to listen: wait for it (10 s).
for _ in $(seq 1 100); do
	"$coffer" cluster info >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/cofferd.out" >&2; exit 1; }
	sleep 0.1
done
"$coffer" cluster info
cat <<MSG

Coffer is running on 127.0.0.1:$port (work directory $work).
  client config     $work/client.json  (export COFFER_CONFIG=$work/client.json)
  local socket      $work/local.json   (same node through run/cofferd.sock,
                    no TLS: 2-4x faster for bulk calls from this machine)
  crypto officer    admin       password in $work/admin.password
  crypto user       crypto-user password in $work/crypto-user.password
  customer CA       $work/ca/ca.crt
  node log          $work/node1.log,  audit log $work/node1/audit.log

Try:
  export COFFER_CONFIG=$work/client.json
  $coffer user list --user admin --password-file $work/admin.password
  $coffer audit verify --user admin --password-file $work/admin.password
  $coffer shell
  $coffer key generate-ec --curve p256 --label signer --user crypto-user --password-file $work/crypto-user.password

PKCS#11 (the PIN is user:password):
  export COFFER_PKCS11_CONF=$work/client.json
  pkcs11-tool --module $bin/src/pkcs11/libcoffer-pkcs11.so -L

Stop with Ctrl-C here, or: $0 stop
MSG
wait "$pid"
