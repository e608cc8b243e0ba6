#!/usr/bin/env bash
# Records testdata/anomalies/*.pcapng: one capture per TCP problem, each of
# real Linux kernel TCP between network namespaces joined by veth pairs, with
# traffic produced by internal/demotraffic (anomaly-server, anomaly-client),
# problems provoked with nftables, and `ss` snapshots of both namespaces
# saved next to each capture as NAME.ss.txt. See testdata/anomalies/README.md.
#
# Every scenario gets fresh namespaces, so no socket of one scenario can show
# up in the next capture. All scenarios use a direct veth link except "loss",
# which goes through a router namespace so that the dropped segments are lost
# before the capture point.
#
# Needs root, iproute2, nftables (nft), tcpdump, editcap and Go; ss from
# iproute2; tshark for the final checks (skipped without it). ethtool is used
# if present. Sends no traffic outside the namespaces it creates. Re-runnable:
# it removes its namespaces and stops its processes on every exit, also on
# failure, and only replaces a capture once its scenario has succeeded.
#
# Usage: sudo testdata/record-anomalies.sh [output-dir] [scenario...]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
outdir=${1:-$here/anomalies}
shift || true
all_scenarios=(close-wait final-ack-dropped loss abort refused syn-unanswered reuse-time-wait zero-window)
if [[ $# -gt 0 ]]; then
	scenarios=("$@")
else
	scenarios=("${all_scenarios[@]}")
fi

NS_C=tcplens-anom-c
NS_S=tcplens-anom-s
NS_R=tcplens-anom-r
VETH_C=veth-tac   # client's end
VETH_S=veth-tas   # server's end
VETH_RC=veth-tarc # router's end towards the client (routed topology only)
VETH_RS=veth-tars # router's end towards the server (routed topology only)

me=record-anomalies.sh

if [[ $(id -u) -ne 0 ]]; then
	echo "$me: must run as root (network namespaces)" >&2
	exit 1
fi
for tool in ip nft ss tcpdump editcap go; do
	command -v "$tool" >/dev/null || {
		echo "$me: $tool not found" >&2
		exit 1
	}
done

work=$(mktemp -d /tmp/tcplens-anom.XXXXXX)
pids=()
name=

# stop_procs: stop the processes of the current scenario, newest first.
stop_procs() {
	local i pid
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	pids=()
}

del_netns() {
	ip netns del "$NS_C" 2>/dev/null || true
	ip netns del "$NS_S" 2>/dev/null || true
	ip netns del "$NS_R" 2>/dev/null || true
}

cleanup() {
	local rc=$? f
	set +e
	stop_procs
	del_netns
	if [[ $rc -ne 0 ]]; then
		echo "$me: failed in scenario '${name:-none}'" >&2
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

# wait_for FILE PATTERN [PID] [SECONDS]: wait up to SECONDS (10) for PATTERN
# to appear in FILE; fail early if PID exits first.
wait_for() {
	local i n=$((${4:-10} * 20))
	for ((i = 0; i < n; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		if [[ -n ${3:-} ]] && ! kill -0 "$3" 2>/dev/null; then
			grep -q -- "$2" "$1" 2>/dev/null && return 0
			echo "$me: process $3 exited before '$2' appeared in $1" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "$me: timed out waiting for '$2' in $1" >&2
	return 1
}

# ---------------------------------------------------------------- topology

setup_side() { # NS VETH ADDR/PREFIX
	# No IPv6 on the link (no router solicitations etc.): only our traffic.
	ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$1" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
	ip -n "$1" link set lo up
	ip -n "$1" addr add "$3" dev "$2"
	if command -v ethtool >/dev/null; then
		# Otherwise the kernel hands tcpdump oversized (TSO/GSO/GRO) segments.
		ip netns exec "$1" ethtool -K "$2" tso off gso off gro off >/dev/null
	fi
	ip -n "$1" link set "$2" up
}

# setup_direct: client 10.214.0.1 <-> server 10.214.0.2 on one veth pair.
setup_direct() {
	ADDR_C=10.214.0.1
	ADDR_S=10.214.0.2
	ip netns add "$NS_C"
	ip netns add "$NS_S"
	ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_S" netns "$NS_S"
	setup_side "$NS_C" "$VETH_C" "$ADDR_C/24"
	setup_side "$NS_S" "$VETH_S" "$ADDR_S/24"
}

# setup_routed: client 10.214.1.1 <-> router <-> server 10.214.2.1.
setup_routed() {
	ADDR_C=10.214.1.1
	ADDR_S=10.214.2.1
	ip netns add "$NS_C"
	ip netns add "$NS_S"
	ip netns add "$NS_R"
	ip link add "$VETH_C" netns "$NS_C" type veth peer name "$VETH_RC" netns "$NS_R"
	ip link add "$VETH_S" netns "$NS_S" type veth peer name "$VETH_RS" netns "$NS_R"
	setup_side "$NS_C" "$VETH_C" "$ADDR_C/24"
	setup_side "$NS_S" "$VETH_S" "$ADDR_S/24"
	setup_side "$NS_R" "$VETH_RC" 10.214.1.254/24
	ip -n "$NS_R" addr add 10.214.2.254/24 dev "$VETH_RS"
	if command -v ethtool >/dev/null; then
		ip netns exec "$NS_R" ethtool -K "$VETH_RS" tso off gso off gro off >/dev/null
	fi
	ip -n "$NS_R" link set "$VETH_RS" up
	ip netns exec "$NS_R" sysctl -q -w net.ipv4.ip_forward=1
	ip -n "$NS_C" route add default via 10.214.1.254
	ip -n "$NS_S" route add default via 10.214.2.254
}

# ---------------------------------------------------------------- scenario steps

# begin NAME direct|routed: fresh namespaces and files for scenario NAME.
begin() {
	name=$1
	echo "=== $name"
	del_netns
	"setup_$2"
	ctl=$work/$name.ctl
	mkdir -p "$ctl"
	ssfile=$work/$name.ss.txt
	{
		echo "# ss snapshots for $name.pcapng, recorded by testdata/record-anomalies.sh."
		echo "# client $ADDR_C (namespace $NS_C), server $ADDR_S (namespace $NS_S)."
		echo "# Times are UTC wall clock (compare with tshark -t ud) and seconds since"
		echo "# tcpdump started. Command: ss -tanoi (all TCP sockets, timers, TCP info)."
		echo "# At the end: the kernel's non-zero TCP counters per namespace (nstat)."
	} >"$ssfile"
}

# start_server: run anomaly-server for the current scenario in the server
# namespace and wait until it listens.
start_server() {
	ip netns exec "$NS_S" "$work/demotraffic" anomaly-server -scenario "$name" \
		-server "$ADDR_S" -ctl "$ctl" -limit 90s >"$work/$name-server.log" 2>&1 &
	server_pid=$!
	pids+=("$server_pid")
	wait_for "$work/$name-server.log" '^ready' "$server_pid"
}

# start_client: run anomaly-client for the current scenario.
start_client() {
	ip netns exec "$NS_C" "$work/demotraffic" anomaly-client -scenario "$name" \
		-server "$ADDR_S" -client "$ADDR_C" -ctl "$ctl" -limit 60s >"$work/$name-client.log" 2>&1 &
	client_pid=$!
	pids+=("$client_pid")
}

# client_done [SECONDS]: wait for the client to finish successfully.
client_done() {
	wait_for "$work/$name-client.log" '^done' "$client_pid" "${1:-10}"
	wait "$client_pid"
}

# capture_start client|server SNAPLEN: tcpdump on that side's veth (TCP only).
capture_start() {
	local ns=$NS_C dev=$VETH_C
	if [[ $1 == server ]]; then
		ns=$NS_S
		dev=$VETH_S
	fi
	capture_side=$1
	# -Z root: keep the privileges to write into $work. --immediate-mode: hand
	# every packet to tcpdump at once, so none is left in the ring buffer when
	# it is stopped.
	ip netns exec "$ns" tcpdump -i "$dev" --immediate-mode -U -s "$2" -n -Z root -w "$work/$name.pcap" tcp \
		>"$work/$name-tcpdump.log" 2>&1 &
	tcpdump_pid=$!
	pids+=("$tcpdump_pid")
	wait_for "$work/$name-tcpdump.log" 'listening on' "$tcpdump_pid"
	capture_t0=$(date +%s.%N)
	sleep 0.3
}

capture_stop() {
	sleep 0.3 # let the last packets reach tcpdump
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid"
	grep -E 'captured|dropped' "$work/$name-tcpdump.log" | sed 's/^/    tcpdump: /'
	editcap -F pcapng "$work/$name.pcap" "$work/$name.pcapng"
}

# snap LABEL: append ss snapshots of both namespaces to NAME.ss.txt.
snap() {
	local now rel ns role addr
	now=$(date +%s.%N)
	rel=$(awk -v a="$now" -v b="$capture_t0" 'BEGIN { printf "%.2f", a - b }')
	for role in client server; do
		if [[ $role == client ]]; then
			ns=$NS_C addr=$ADDR_C
		else
			ns=$NS_S addr=$ADDR_S
		fi
		{
			echo
			echo "=== $role $addr (namespace $ns) at $(date -u -d "@$now" +%H:%M:%S.%3N) UTC, +${rel} s: $1"
			ip netns exec "$ns" ss -tanoi | sed 's/[[:space:]]*$//'
		} >>"$ssfile"
	done
	echo "    ss snapshot +${rel} s: $1"
}

# nft_in NS: load an nftables ruleset (stdin) into namespace NS.
nft_in() {
	ip netns exec "$1" nft -f -
}

# nft_dump NS LABEL: append NS's ruleset with its counters to NAME.ss.txt.
nft_dump() {
	{
		echo
		echo "=== nftables ruleset in namespace $1 at the end ($2)"
		ip netns exec "$1" nft list ruleset
	} >>"$ssfile"
}

go_ahead() {
	touch "$ctl/$1"
}

# nstat_dump: append both namespaces' non-zero TCP counters to NAME.ss.txt.
nstat_dump() {
	local role ns
	for role in client server; do
		ns=$NS_C
		[[ $role == server ]] && ns=$NS_S
		{
			echo
			echo "=== $role (namespace $ns) kernel TCP counters at the end: nstat -as 'Tcp*'"
			ip netns exec "$ns" nstat -as 'Tcp*' | { grep -v '^#' || true; }
		} >>"$ssfile"
	done
}

# finish: stop the capture and the processes, remove the namespaces.
finish() {
	capture_stop
	if command -v nstat >/dev/null; then
		nstat_dump
	fi
	stop_procs
	del_netns
	cat "$work/$name-client.log" "$work/$name-server.log" | sed 's/^/    log: /'
}

# ---------------------------------------------------------------- scenarios

# 1. The client closes; the server application never closes (CLOSE_WAIT),
# while a second connection exchanges a byte every second for 7 s.
scenario_close_wait() {
	begin close-wait direct
	start_server
	capture_start client 0
	start_client
	wait_for "$work/$name-client.log" '9001: closed' "$client_pid"
	sleep 0.5
	snap "0.5 s after the client closed 41001->9001 (FIN sent and ACKed)"
	wait_for "$work/$name-client.log" 'tick 6' "$client_pid"
	snap "6 s after the close; the ticker 41011->9001 is still open"
	client_done
	sleep 0.3
	snap "end: ticker closed, 41001->9001 still half-closed"
	finish
}

# 2. Graceful close by the client whose final ACK is dropped by nftables in
# the client's output hook, before any tcpdump can see it; the server in
# LAST_ACK retransmits its FIN. Captured on the server's end.
scenario_final_ack_dropped() {
	begin final-ack-dropped direct
	start_server
	capture_start server 0
	start_client
	wait_for "$work/$name-server.log" 'wait server-close' "$server_pid"
	snap "client closed first (FIN, ACKed); server has not closed yet"
	# The pure ACK (no payload: 20 bytes IP + 32 bytes TCP with the timestamp
	# option) from 41002 to 9002: after the client's FIN the client sends
	# nothing else, so this matches only the ACK of the server's FIN and the
	# ACKs its TIME_WAIT socket sends for the retransmitted FINs.
	nft_in "$NS_C" <<-EOF
		table ip anomalies {
			chain output {
				type filter hook output priority 0; policy accept;
				ip daddr $ADDR_S tcp sport 41002 tcp dport 9002 tcp flags & (fin|syn|rst|psh|ack|urg) == ack ip length 52 counter drop
			}
		}
	EOF
	go_ahead server-close
	wait_for "$work/$name-server.log" '9002: closing' "$server_pid"
	sleep 0.1
	snap "0.1 s after the server's FIN; the client's ACK of it was dropped"
	sleep 3.3
	snap "3.4 s after the server's FIN; the server has retransmitted it 5 times"
	nft_dump "$NS_C" "counts the dropped ACKs"
	client_done
	finish
}

# 3. Bulk upload through a router that drops ~5% of the data segments;
# captured at the receiver (server), behind the loss.
scenario_loss() {
	begin loss routed
	nft_in "$NS_R" <<-EOF
		table ip anomalies {
			chain forward {
				type filter hook forward priority 0; policy accept;
				ip daddr $ADDR_S tcp dport 9003 tcp flags & (fin|syn|rst) == 0 ip length > 100 numgen random mod 100 < 5 counter drop
			}
		}
	EOF
	start_server
	capture_start server 96
	start_client
	wait_for "$work/$name-client.log" 'wait client-close' "$client_pid" 30
	snap "upload done and answered; connection still open (see retrans/lost/sacked/reordering)"
	nft_dump "$NS_R" "the router; counts the dropped segments"
	go_ahead client-close
	client_done
	finish
}

# 4. Two connections reset by the server: SO_LINGER 0 in ESTABLISHED, and a
# close with unread data in the receive buffer.
scenario_abort() {
	begin abort direct
	start_server
	capture_start client 0
	start_client
	wait_for "$work/$name-server.log" 'wait server-abort' "$server_pid"
	snap "41004->9004 established, server about to close with SO_LINGER 0"
	go_ahead server-abort
	wait_for "$work/$name-client.log" '9004: sent unread data' "$client_pid"
	wait_for "$work/$name-server.log" 'wait server-close-unread' "$server_pid"
	sleep 0.2
	snap "41014->9004: the client's last line sits unread in the server's Recv-Q"
	go_ahead server-close-unread
	client_done
	snap "end: both connections reset"
	finish
}

# 5. Connection to a port nothing listens on.
scenario_refused() {
	begin refused direct
	start_server
	capture_start client 0
	snap "before connecting: nothing listens on 9005"
	start_client
	client_done
	snap "after the RST"
	finish
}

# 6. SYNs dropped by nftables in the server's input hook (no RST); the client
# gives up after 8 s (net.Dialer Timeout).
scenario_syn_unanswered() {
	begin syn-unanswered direct
	# Classic exponential SYN backoff (1 s, 2 s, 4 s, ...): SYNs at 0, 1, 3
	# and 7 s before the client's own 8 s timeout. tcp_syn_retries 6 (the
	# default) alone would retry for 127 s. Newer kernels retransmit the
	# first tcp_syn_linear_timeouts (default 4) SYNs after a constant 1 s
	# (SYNs at 0, 1, 2, 3, 4, 5, 7 s); turn that off where it exists.
	ip netns exec "$NS_C" sysctl -q -w net.ipv4.tcp_syn_retries=6
	if [[ -e /proc/sys/net/ipv4/tcp_syn_linear_timeouts ]]; then
		ip netns exec "$NS_C" sysctl -q -w net.ipv4.tcp_syn_linear_timeouts=0
	fi
	nft_in "$NS_S" <<-EOF
		table ip anomalies {
			chain input {
				type filter hook input priority 0; policy accept;
				tcp dport 9006 tcp flags & (syn|ack) == syn counter drop
			}
		}
	EOF
	start_server
	capture_start client 0
	start_client
	wait_for "$work/$name-client.log" '9006: connecting' "$client_pid"
	sleep 2
	snap "2 s into the connect: client SYN-SENT, server LISTEN with no connection"
	client_done 15
	snap "after the client gave up"
	nft_dump "$NS_S" "counts the dropped SYNs"
	finish
}

# 7. The server closes first and holds TIME_WAIT; the client reconnects from
# the same source port 1 s later.
scenario_reuse_time_wait() {
	begin reuse-time-wait direct
	start_server
	capture_start client 0
	start_client
	wait_for "$work/$name-client.log" 'wait client-reconnect' "$client_pid"
	snap "first connection closed by the server first: server TIME_WAIT on 9007<-41007"
	sleep 1
	go_ahead client-reconnect
	client_done
	snap "after the second connection on the same 4-tuple"
	finish
}

# 8. The receiver does not read for 4 s: zero window and window probes, then
# it reads everything.
scenario_zero_window() {
	begin zero-window direct
	start_server
	capture_start client 96
	start_client
	wait_for "$work/$name-server.log" 'wait server-read' "$server_pid"
	sleep 1
	snap "1 s after accept, server not reading: Recv-Q full, client Send-Q full, persist timer"
	sleep 3
	snap "4 s after accept, still not reading"
	go_ahead server-read
	client_done
	snap "end: all read and answered"
	finish
}

# ---------------------------------------------------------------- checks

# check NAME DISPLAY-FILTER MIN: at least MIN frames of NAME match.
check() {
	local n
	n=$(tshark -n -r "$work/$1.pcapng" -Y "$2" 2>/dev/null | wc -l)
	printf '    %-60s %5d\n' "$2" "$n"
	if ((n < $3)); then
		echo "$me: $1: expected at least $3 frames matching '$2', got $n" >&2
		return 1
	fi
}

check_capture() {
	local frames
	if ! command -v tshark >/dev/null; then
		return 0
	fi
	frames=$(tshark -n -r "$work/$name.pcapng" 2>/dev/null | wc -l)
	echo "    $frames frames, $(stat -c %s "$work/$name.pcapng") bytes"
	case $name in
	close-wait)
		check "$name" 'tcp.srcport == 41001 && tcp.flags.fin == 1' 1
		check "$name" 'tcp.srcport == 9001 && tcp.dstport == 41001 && tcp.flags.fin == 1' 0
		check "$name" 'tcp.dstport == 41011 && tcp.len == 1' 7
		;;
	final-ack-dropped)
		check "$name" 'tcp.srcport == 9002 && tcp.flags.fin == 1' 4
		check "$name" 'tcp.analysis.retransmission' 3
		;;
	loss)
		check "$name" 'tcp.analysis.lost_segment' 1
		check "$name" 'tcp.analysis.duplicate_ack' 1
		check "$name" 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.out_of_order' 1
		;;
	abort)
		check "$name" 'tcp.srcport == 9004 && tcp.flags.reset == 1' 2
		;;
	refused)
		check "$name" 'tcp.srcport == 9005 && tcp.flags.reset == 1 && tcp.flags.ack == 1' 1
		;;
	syn-unanswered)
		check "$name" 'tcp.dstport == 9006 && tcp.flags.syn == 1' 4
		check "$name" 'tcp.srcport == 9006' 0
		;;
	reuse-time-wait)
		check "$name" 'tcp.dstport == 9007 && tcp.flags.syn == 1 && tcp.flags.ack == 0' 2
		check "$name" 'tcp.srcport == 9007 && tcp.flags.syn == 1 && tcp.flags.ack == 1' 2
		;;
	zero-window)
		check "$name" 'tcp.analysis.zero_window' 1
		check "$name" 'tcp.analysis.zero_window_probe || tcp.analysis.keep_alive' 2
		;;
	esac
	# Extra checks that must find nothing.
	case $name in
	close-wait)
		[[ $(tshark -n -r "$work/$name.pcapng" -Y 'tcp.srcport == 9001 && tcp.dstport == 41001 && tcp.flags.fin == 1' 2>/dev/null | wc -l) -eq 0 ]] ||
			{ echo "$me: close-wait: the server sent a FIN" >&2; return 1; }
		;;
	syn-unanswered)
		[[ $(tshark -n -r "$work/$name.pcapng" -Y 'tcp.srcport == 9006' 2>/dev/null | wc -l) -eq 0 ]] ||
			{ echo "$me: syn-unanswered: the server answered" >&2; return 1; }
		;;
	esac
}

# ---------------------------------------------------------------- main

del_netns # leftovers of an interrupted run

echo "building demotraffic"
(cd "$root" && go build -o "$work/demotraffic" ./internal/demotraffic)
mkdir -p "$outdir"

for s in "${scenarios[@]}"; do
	case $s in
	close-wait | final-ack-dropped | loss | abort | refused | syn-unanswered | reuse-time-wait | zero-window)
		t0=$SECONDS
		"scenario_${s//-/_}"
		if ! check_capture; then
			cp "$work/$name.pcapng" "/tmp/tcplens-anom-failed-$name.pcapng"
			echo "$me: kept the capture as /tmp/tcplens-anom-failed-$name.pcapng" >&2
			exit 1
		fi
		mv "$work/$name.pcapng" "$outdir/$name.pcapng"
		mv "$work/$name.ss.txt" "$outdir/$name.ss.txt"
		echo "    wrote $outdir/$name.pcapng and $name.ss.txt ($((SECONDS - t0)) s)"
		;;
	*)
		echo "$me: unknown scenario '$s' (known: ${all_scenarios[*]})" >&2
		exit 2
		;;
	esac
done
name=
echo "done"
