#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Compares two builds of Coffer on the same node data, interleaved: for
# each round and each build, restarts the bar's node with that build's
# cofferd and runs that build's coffer-bench (so its libcoffer and PKCS#11
# module) against it, beside the floors (tls-min, unix-min). The VM's
# speed drifts between minutes; alternating the builds round by round
# puts both under the same drift. A report, not a test.
#
#   BAR_SETUP_ONLY=1 BAR_KEEP=1 BAR_WORK=/tmp/bar bench/run-bar.sh
#   git worktree add /tmp/old REV && (cd /tmp/old &&
#       cmake --preset release && cmake --build --preset release)
#   bench/ab-builds.sh /tmp/bar /tmp/old/build/release build/release
#
# Environment: AB_ROUNDS (2), AB_THREADS (1,2,4), AB_SECONDS (1.5),
# AB_WORKLOADS (ecdsa-p256-sign,rsa2048-pkcs1-sign,aes256-gcm-1m,
# random-1m). Prints one line per sample
# (round build workload threads target ops/s p50-us), then the medians
# per build. The node is left running with the last build (its pid in
# env.sh, nodepid).
set -euo pipefail
[ $# -eq 3 ] || {
	echo "usage: $0 BAR_WORK_DIR OLD_BUILD_DIR NEW_BUILD_DIR" >&2
	exit 2
}
work=$(cd "$1" && pwd)
old=$(cd "$2" && pwd)
new=$(cd "$3" && pwd)
rounds=${AB_ROUNDS:-2}
threads=${AB_THREADS:-1,2,4}
seconds=${AB_SECONDS:-1.5}
workloads=${AB_WORKLOADS:-ecdsa-p256-sign,rsa2048-pkcs1-sign,aes256-gcm-1m,random-1m}
cd "$work"
[ -f env.sh ] && [ -f node.json ] || {
	echo "$0: $work is not a bar work directory (BAR_SETUP_ONLY=1)" >&2
	exit 2
}
export COFFER_PKCS11_CONF=$work/pkcs11.json
export SOFTHSM2_CONF=$work/softhsm/softhsm2.conf
cred="user=bench,pin-file=$work/bench.password"
# The readiness probe: the new build's CLI (the old build needs only
# cofferd, coffer-bench and coffer-pkcs11).
cli=$new/src/cli/coffer
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# The node of this work directory only: env.sh's nodepid, kept up to
# date so that "kill $nodepid" still stops it afterwards.
pid=$(sed -n 's/^nodepid=//p' env.sh)
restart() {	# build dir
	# (a stale pid may have been reused: only a cofferd running here)
	if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = \
	    "$work" ] && grep -q cofferd "/proc/$pid/comm" 2>/dev/null; then
		kill -TERM "$pid"
		while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	fi
	setsid "$1/src/hsm/cofferd" --config node.json >>cofferd.out 2>&1 \
	    </dev/null &
	pid=$!
	sed -i "s/^nodepid=.*/nodepid=$pid/" env.sh
	for _ in $(seq 1 600); do
		if COFFER_CONFIG=client.json "$cli" cluster info \
		    2>/dev/null | grep -q ACTIVE; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "$0: the node did not become ACTIVE (see $work/cofferd.out)" >&2
	exit 1
}

for r in $(seq 1 "$rounds"); do
	for v in old new; do
		if [ "$v" = old ]; then b=$old; else b=$new; fi
		restart "$b"
		"$b/bench/coffer-bench" --targets "tls;unix;coffer:$work/client.json,$cred,name=libcoffer;coffer:$work/unix.json,$cred,name=libcoffer-ux;pkcs11:$b/src/pkcs11/libcoffer-pkcs11.so,name=coffer-p11,token=coffer,$cred" \
		    --threads "$threads" --seconds "$seconds" --reps 1 \
		    --warmup 0.3 --token-keys --workloads "$workloads" 2>/dev/null |
		    awk -v r="$r" -v v="$v" \
		    '$2 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+$/ {
			print r, v, $1, $2, $3, $4, $6 }' | tee -a "$out"
	done
done
echo
echo "medians (ops/s) per workload, threads, target: old -> new"
python3 - "$out" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r, v, w, t, tg, ops, _ = line.split()
    d[(w, int(t), tg, v)].append(float(ops))
keys = sorted({k[:3] for k in d})
for w, t, tg in keys:
    o, n = d.get((w, t, tg, "old"), []), d.get((w, t, tg, "new"), [])
    if o and n:
        print("%-20s %2d %-13s %10.0f -> %10.0f  (%+.0f %%)" % (
            w, t, tg, statistics.median(o), statistics.median(n),
            100 * (statistics.median(n) / statistics.median(o) - 1)))
PY
