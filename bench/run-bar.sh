#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Reproduces "the bar" of the performance issue in one command: builds,
# starts one Coffer node on 127.0.0.1 in a temporary directory (ceremony
# with a generated development CA, a crypto user), sets up a SoftHSMv2
# token in the same directory, writes the Coffer PKCS#11 module's config,
# runs coffer-bench with the bar's settings (token keys, medians of
# BAR_REPS >= 3 repetitions, raw OpenSSL, SoftHSMv2, Coffer through its
# PKCS#11 module and through libcoffer, interleaved per workload), then
# the find-by-label and restart measurements, and prints the bar with
# PASS/FAIL per line. A report, not a test: it always exits 0 when the
# measurements ran.
#
# Every Coffer path runs twice: over TLS on 127.0.0.1 (coffer-p11,
# libcoffer, libcoffer-b16) and over the node's local unix socket, the
# same frames without TLS (coffer-p11-ux, libcoffer-ux, libcoffer-b16-ux;
# node "unix_socket", client "unix:PATH"); bar.py judges each path.
#
#   bench/run-bar.sh
#
# Environment: BAR_BUILD (build dir; default build/release via the
# release preset), BAR_SECONDS (per sample, default 3), BAR_REPS (3),
# BAR_THREADS (1,2,4), BAR_FIND_KEYS (100000), BAR_KEYGEN_SECONDS (40),
# BAR_KEYGEN_THREADS (2: the bar compares with OpenSSL's 2 threads),
# BAR_LAT_REPS (9: short interleaved samples for the two latency lines),
# BAR_KEEP=1 (keep the work directory), BAR_WORK (work directory),
# BAR_SETUP_ONLY=1 (set up, leave the node running, write env.sh; for
# profiling).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${BAR_SECONDS:-3}
reps=${BAR_REPS:-3}
threads=${BAR_THREADS:-1,2,4}
find_keys=${BAR_FIND_KEYS:-100000}
keygen_seconds=${BAR_KEYGEN_SECONDS:-40}
lat_reps=${BAR_LAT_REPS:-9}
keygen_threads=${BAR_KEYGEN_THREADS:-2}
softhsm_mod=/usr/lib/softhsm/libsofthsm2.so

if [ -n "${BAR_BUILD:-}" ]; then
	bin=$(realpath -m "$BAR_BUILD")
	[ -f "$bin/build.ninja" ] || cmake -S "$top" -B "$bin" -G Ninja \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
else
	bin=$top/build/release
	cmake --preset release -S "$top" >/dev/null
fi
cmake --build "$bin" --target cofferd coffer_cli coffer-pkcs11 coffer-bench \
	>/dev/null
coffer=$bin/src/cli/coffer
cofferd=$bin/src/hsm/cofferd
p11mod=$bin/src/pkcs11/libcoffer-pkcs11.so
bench=$bin/bench/coffer-bench

work=${BAR_WORK:-$(mktemp -d /tmp/coffer-bar.XXXXXX)}
mkdir -p "$work" "$work/run"
chmod 700 "$work" "$work/run"
cd "$work"
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "${BAR_KEEP:-0}" = 1 ]; then
		echo "run-bar: work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port=$(free_port)
raft_port=$(free_port)
write_node_json() {
	cat >node.json <<JSON
{
  "node_id": 1,
  "listen": "127.0.0.1:$port",
  "raft_address": "127.0.0.1:$raft_port",
  "data_dir": "$work/node1",
  "log_file": "$work/node1.log",
  "log_level": "info",
  "unix_socket": "$work/run/cofferd.sock"$1
}
JSON
}
# The default token object limit (16666, CloudHSM's) is below the bar's
# 100,000 keys: raise it where cofferd accepts "max_objects".
write_node_json ",
  \"max_objects\": $((find_keys + 1000))"

start_node() {
	"$cofferd" --config node.json >>"$work/cofferd.out" 2>&1 &
	pid=$!
}
start_node
for _ in $(seq 1 200); do
	[ -s node1/bootstrap-fingerprint ] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		if grep -q 'unknown key "max_objects"' cofferd.out; then
			if [ "$find_keys" -gt 16000 ]; then
				echo "run-bar: this cofferd has no" \
				    "\"max_objects\"; find-label uses 16000" \
				    "keys, not $find_keys" >&2
				find_keys=16000
			fi
			write_node_json ""
			rm -rf node1
			start_node
			continue
		fi
		cat "$work/cofferd.out" >&2
		exit 1
	fi
	sleep 0.05
done
fp=$(cat node1/bootstrap-fingerprint)

# The initialization ceremony (as scripts/coffer-local.sh).
{
	"$coffer" ca create --out ca --cn "Coffer bar CA"
	"$coffer" cluster init --server "127.0.0.1:$port" --pin "$fp" \
		--out cluster.csr
	"$coffer" ca sign --ca ca --csr cluster.csr --out cluster.crt
	COFFER_PASSWORD=$(cat node1/preco-password) \
		"$coffer" cluster initialize --server "127.0.0.1:$port" \
		--pin "$fp" --user preco --cert cluster.crt --ca ca/ca.crt
	umask 077
	head -c 18 /dev/urandom | base64 | tr -d '/+=' >admin.password
	head -c 18 /dev/urandom | base64 | tr -d '/+=' >bench.password
	COFFER_PASSWORD=$(cat node1/preco-password) \
		"$coffer" cluster activate --server "127.0.0.1:$port" \
		--ca ca/ca.crt --user preco --co-user admin \
		--new-password-file admin.password
	cat >client.json <<JSON
{
  "servers": ["127.0.0.1:$port"],
  "trust_anchor": "$work/ca/ca.crt"
}
JSON
	COFFER_CONFIG=client.json "$coffer" user create bench --role cu \
		--user admin --password-file admin.password \
		--new-password-file bench.password
} >ceremony.log 2>&1 || { cat ceremony.log >&2; exit 1; }

# The same node through its local socket (no TLS, no trust anchor).
cat >unix.json <<JSON
{ "servers": ["unix:$work/run/cofferd.sock"] }
JSON

# The Coffer PKCS#11 module: two slots on this node, over TLS and over
# the local socket.
cat >pkcs11.json <<JSON
{ "slots": [ { "label": "coffer", "client_config": "$work/client.json" },
             { "label": "coffer-ux", "client_config": "$work/unix.json" } ] }
JSON
export COFFER_PKCS11_CONF=$work/pkcs11.json

# SoftHSMv2 with a token in the work directory.
mkdir -p softhsm/tokens
printf 'directories.tokendir = %s/softhsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$work" >softhsm/softhsm2.conf
export SOFTHSM2_CONF=$work/softhsm/softhsm2.conf
softhsm2-util --init-token --free --label bar --so-pin 12345678 \
	--pin 1234 >/dev/null

pw=$(cat bench.password)
# The four Coffer paths the bar judges; "judged" adds raw OpenSSL, and
# "targets" SoftHSMv2 as well.
cred="user=bench,pin-file=$work/bench.password"
coffer_paths="pkcs11:$p11mod,name=coffer-p11,token=coffer,$cred"
coffer_paths="$coffer_paths;coffer:$work/client.json,name=libcoffer,$cred"
coffer_paths="$coffer_paths;pkcs11:$p11mod,name=coffer-p11-ux,token=coffer-ux,$cred"
coffer_paths="$coffer_paths;coffer:$work/unix.json,name=libcoffer-ux,$cred"
judged="openssl;$coffer_paths"
targets="openssl;pkcs11:$softhsm_mod,name=softhsm,token=bar,pin=1234;$coffer_paths"
# The throughput lines also run "tls": the same OpenSSL operation behind a
# minimal TLS 1.3 server process on 127.0.0.1, the floor of any networked
# HSM here, and "unix", the same without TLS on a unix socket, the floor
# of the local paths (reported beside each line, not judged).
# The sign lines also run libcoffer's pipelined coffer_sign_many, 16
# signatures per call; the bulk lines (1 MiB per request) run without it.
bulk_targets="openssl;tls;unix;${targets#openssl;}"
ops_targets="$bulk_targets;coffer:$work/client.json,name=libcoffer-b16,$cred,batch=16"
ops_targets="$ops_targets;coffer:$work/unix.json,name=libcoffer-b16-ux,$cred,batch=16"

if [ "${BAR_SETUP_ONLY:-0}" = 1 ]; then
	# For profiling: leave the node running and say how to drive it.
	cat >env.sh <<ENV
export COFFER_PKCS11_CONF=$COFFER_PKCS11_CONF
export SOFTHSM2_CONF=$SOFTHSM2_CONF
export COFFER_CONFIG=$work/client.json
bench=$bench
targets='$ops_targets'
nodepid=$pid
ENV
	trap - EXIT
	echo "run-bar: node $pid left running; . $work/env.sh" \
	    "then \$bench --targets \"\$targets\" ...;" \
	    "kill \$nodepid when done" >&2
	exit 0
fi
echo "run-bar: work directory $work; node pid $pid" >&2
# What this machine charges for a wake-up and a loopback round trip: the
# floor under every per-call figure (reported, not judged).
"$bench" --machine | tee bar-machine.txt || true
"$bench" --targets "$ops_targets" --threads "$threads" --seconds "$seconds" \
	--reps "$reps" --warmup 0.5 --token-keys \
	--workloads rsa2048-pkcs1-sign,ecdsa-p256-sign \
	--json bar-ops.json | tee bar-ops.txt
"$bench" --targets "$bulk_targets" --threads "$threads" \
	--seconds "$seconds" --reps "$reps" --warmup 0.5 --token-keys \
	--workloads aes256-gcm-1m,random-1m \
	--json bar-bulk.json | tee bar-bulk.txt
# Single-thread latency: many short samples, the targets interleaved in
# each round, so that the machine's drift (raw OpenSSL's RSA p50 moves by
# 100-170 us between 3 s samples here) hits OpenSSL and Coffer alike;
# bar.py judges RSA by the median of the per-round differences.
"$bench" --targets "$judged" --threads 1 --seconds 1 --reps "$lat_reps" \
	--warmup 0.3 --token-keys \
	--workloads rsa2048-pkcs1-sign,ecdsa-p256-sign \
	--json bar-lat.json | tee bar-lat.txt
# RSA key generation: each key's prime search takes 20 ms to over 1 s, so
# a rate needs many keys (40 s x 2 threads is about 300); SoftHSMv2 is
# not part of this line.
"$bench" --targets "$judged" --threads "$keygen_threads" \
	--seconds "$keygen_seconds" --reps "$reps" --warmup 0 --token-keys \
	--workloads keygen-rsa2048-token --json bar-keygen.json |
	tee bar-keygen.txt

# 100,000 token keys: find one by label, end to end through the module.
rss_before=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
"$bench" --targets "$coffer_paths" \
	--threads 1 --seconds "$seconds" --reps "$reps" --warmup 0.5 \
	--workloads find-label --find-keys "$find_keys" --find-keep \
	--json bar-find.json | tee bar-find.txt || true
rss_keys=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)

# Restart to ACTIVE with the keys in place.
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
t0=$(date +%s.%N)
start_node
active=
for _ in $(seq 1 1200); do
	if COFFER_CONFIG=client.json "$coffer" cluster info 2>/dev/null |
	    grep -q ACTIVE; then
		active=$(date +%s.%N)
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.02
done
sleep 1	# let it settle before reading its resident memory
restart_s=$(python3 -c "print('%.2f' % ($active - $t0))" 2>/dev/null ||
	echo -1)
rss_after=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null ||
	echo 0)

python3 "$top/bench/bar.py" --ops bar-ops.json --ops bar-bulk.json \
	--lat bar-lat.json --keygen bar-keygen.json \
	--find bar-find.json --find-keys "$find_keys" \
	--restart "$restart_s" --rss-kib "$rss_before,$rss_keys,$rss_after"
echo
cat bar-machine.txt 2>/dev/null || true
