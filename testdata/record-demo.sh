#!/usr/bin/env bash
# Records testdata/demo.pcapng: real Linux kernel TCP traffic between two
# network namespaces joined by a veth pair, produced by internal/demotraffic.
# See testdata/demo.md for what the capture contains.
#
# Needs root, iproute2, tcpdump, editcap (Debian: tshark or wireshark-common)
# and Go. ethtool is used if present. Sends no traffic outside the two
# namespaces it creates. Re-runnable: it removes its namespaces and stops its
# processes on every exit, also on failure.
#
# Usage: sudo testdata/record-demo.sh [output.pcapng]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$here/demo.pcapng}

NS_C=tcplens-demo-c
NS_S=tcplens-demo-s
VETH_C=veth-tlc
VETH_S=veth-tls
ADDR_C=10.213.0.1
ADDR_S=10.213.0.2
GAP=250ms

if [[ $(id -u) -ne 0 ]]; then
	echo "record-demo.sh: must run as root (network namespaces)" >&2
	exit 1
fi
for tool in ip tcpdump editcap go; do
	command -v "$tool" >/dev/null || {
		echo "record-demo.sh: $tool not found" >&2
		exit 1
	}
done

work=$(mktemp -d /tmp/tcplens-demo.XXXXXX)
pids=()

cleanup() {
	local rc=$? i pid f
	set +e
	# Stop in reverse order of start; tcpdump is normally already gone.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	if [[ $rc -ne 0 ]]; then
		for f in "$work"/*.log; do
			[[ -e $f ]] || continue
			echo "--- $f" >&2
			cat "$f" >&2
		done
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for FILE PATTERN [PID]: wait up to 10 s for PATTERN to appear in FILE;
# fail early if PID exits first.
wait_for() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		if [[ -n ${3:-} ]] && ! kill -0 "$3" 2>/dev/null; then
			grep -q -- "$2" "$1" 2>/dev/null && return 0
			echo "record-demo.sh: process $3 exited before '$2' appeared in $1" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "record-demo.sh: timed out waiting for '$2' in $1" >&2
	return 1
}

# Leftovers of an interrupted run.
ip netns del "$NS_C" 2>/dev/null || true
ip netns del "$NS_S" 2>/dev/null || true

echo "building demotraffic"
(cd "$root" && go build -o "$work/demotraffic" ./internal/demotraffic)

echo "setting up namespaces $NS_C ($ADDR_C) <-> $NS_S ($ADDR_S)"
ip netns add "$NS_C"
ip netns add "$NS_S"
ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_S" netns "$NS_S"
setup_side() { # NS VETH ADDR
	# No IPv6 on the link (no router solicitations etc.): only our traffic.
	ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$1" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
	ip -n "$1" link set lo up
	ip -n "$1" addr add "$3/24" dev "$2"
	if command -v ethtool >/dev/null; then
		# Otherwise the kernel hands tcpdump oversized (TSO/GSO) segments.
		ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
	fi
	ip -n "$1" link set "$2" up
}
setup_side "$NS_C" "$VETH_C" "$ADDR_C"
setup_side "$NS_S" "$VETH_S" "$ADDR_S"

echo "starting server"
ip netns exec "$NS_S" "$work/demotraffic" server -addr "$ADDR_S" >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_for "$work/server.log" '^ready' "$server_pid"

echo "starting capture"
# Only TCP (no ARP). -Z root: keep the privileges to write into $work.
ip netns exec "$NS_C" tcpdump -i "$VETH_C" -U -s 0 -n -Z root -w "$work/tmp.pcap" tcp \
	>"$work/tcpdump.log" 2>&1 &
tcpdump_pid=$!
pids+=("$tcpdump_pid")
wait_for "$work/tcpdump.log" 'listening on' "$tcpdump_pid"
sleep 0.3

echo "running scenarios"
ip netns exec "$NS_C" "$work/demotraffic" client -server "$ADDR_S" -client "$ADDR_C" -gap "$GAP" \
	>"$work/client.log" 2>&1 &
client_pid=$!
pids+=("$client_pid")
# Scenarios 1-4 run to completion; scenario 5 stays open ("holding").
wait_for "$work/client.log" '^holding' "$client_pid"

# Let everything reach tcpdump, then stop it cleanly while scenario 5 is
# still established.
sleep 0.5
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid"
cat "$work/tcpdump.log"

editcap -F pcapng "$work/tmp.pcap" "$work/demo.pcapng"
mv "$work/demo.pcapng" "$out"
echo "--- client"
cat "$work/client.log"
echo "--- server"
cat "$work/server.log"
echo "wrote $out"
