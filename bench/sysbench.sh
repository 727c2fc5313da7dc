#!/usr/bin/env bash
# Imago against MariaDB with sysbench, same rows, same threads, same time.
#
#   bench/sysbench.sh            # ROWS=100000 THREADS=4 TIME=20 by default
#   NEIGHBOUR=1 bench/sysbench.sh   # the same with a CPU-bound process beside
#   PROFILE=DIR bench/sysbench.sh   # also a CPU profile of Imago's oltp_read_only
#   TESTS="oltp_read_only select1" bench/sysbench.sh   # some of the tests
#   MEMORY=0 bench/sysbench.sh      # without the bytes per row
#
# NEIGHBOUR=1 runs a busy loop on one core (taskset) during both servers'
# runs: the ratios should hold when the servers share the machine with a
# CPU-bound process, as they do in production.
# Installs what it needs (Debian mariadb-server, sysbench), starts Imago
# (bench/sbserve: the sbtest app) and MariaDB on loopback ports in a temporary directory,
# loads the same sbtest1 rows into both (bench/sbload), runs
# oltp_point_select, oltp_read_only and a SELECT 1 loop against each, and
# prints QPS/TPS, each server's CPU time per query or transaction, p95
# latency and the Imago/MariaDB ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

ROWS=${ROWS:-100000}
THREADS=${THREADS:-4}
TIME=${TIME:-20}
# free_port: a loopback port free now (the servers bind it moments later).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
IMAGO_PORT=${IMAGO_PORT:-$(free_port)}
PEER_PORT=${PEER_PORT:-$(free_port)}
HTTP_PORT=${HTTP_PORT:-$(free_port)}
PPROF_PORT=${PPROF_PORT:-$(free_port)}
NEIGHBOUR=${NEIGHBOUR:-0}
PROFILE=${PROFILE:-}

need=()
command -v sysbench >/dev/null || need+=(sysbench)
command -v curl >/dev/null || need+=(curl)
command -v mariadbd >/dev/null || need+=(mariadb-server)
if ((${#need[@]})); then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/imago" ./bench/sbserve
go build -o "$work/sbload" ./bench/sbload

"$work/imago" serve --data "$work/imago-data" --durability none \
	--mysql-addr 127.0.0.1:$IMAGO_PORT --http-addr 127.0.0.1:$HTTP_PORT \
	--pprof-addr 127.0.0.1:$PPROF_PORT 2>"$work/imago.log" &
pids+=($!)
imago_pid=$!

mariadb-install-db --no-defaults --datadir="$work/mariadb" --auth-root-authentication-method=normal \
	--skip-test-db --user=root >"$work/mariadb-install.log" 2>&1
mariadbd --no-defaults --datadir="$work/mariadb" --socket="$work/mariadb.sock" --port=$PEER_PORT \
	--bind-address=127.0.0.1 --pid-file="$work/mariadb.pid" --user=root --skip-grant-tables \
	--innodb-buffer-pool-size=512M --max-connections=200 2>"$work/mariadb.log" &
pids+=($!)
peer_pid=$!

for _ in $(seq 100); do
	if curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null &&
		mariadb-admin --socket="$work/mariadb.sock" ping >/dev/null 2>&1; then
		break
	fi
	sleep 0.2
done

"$work/sbload" -imago "http://127.0.0.1:$HTTP_PORT" -peer "root@tcp(127.0.0.1:$PEER_PORT)/" -rows "$ROWS"

# sysbench_run PORT TEST -> "qps tps p95"
sysbench_run() {
	local port=$1 test=$2
	local out
	out=$(sysbench "$test" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
		--mysql-user=root --mysql-db=sbtest --tables=1 --table-size="$ROWS" \
		--threads="$THREADS" --time="$TIME" --report-interval=0 --histogram=off run 2>&1) || {
		echo "sysbench $test on port $port failed:" >&2
		echo "$out" >&2
		exit 1
	}
	local qps tps p95
	qps=$(awk '/queries:/ {gsub(/[(]/, "", $3); print $3}' <<<"$out")
	tps=$(awk '/transactions:/ {gsub(/[(]/, "", $3); print $3}' <<<"$out")
	p95=$(awk '/95th percentile:/ {print $3}' <<<"$out")
	echo "$qps $tps $p95"
}

# profile_imago TEST: sysbench TEST on Imago while its CPU profile is taken
# into $PROFILE/TEST.pprof.
profile_imago() {
	mkdir -p "$PROFILE"
	curl -sf -o "$PROFILE/$1.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$((TIME > 2 ? TIME - 2 : 1))" &
	local curl_pid=$!
	sysbench_run $IMAGO_PORT "$1" >/dev/null
	wait $curl_pid
}

# cpu_ticks PID: the process's user and system CPU time in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# cpu_us TICKS RATE: CPU microseconds per unit of a TIME-second run at RATE/s.
cpu_us() { awk -v t="$1" -v r="$2" -v hz="$(getconf CLK_TCK)" -v s="$TIME" 'BEGIN { if (r > 0) printf "%.0f", t / hz * 1e6 / (r * s); else print "-" }'; }

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

if [[ -n $PROFILE ]]; then
	profile_imago oltp_read_only
	echo "CPU profile of Imago under oltp_read_only: $PROFILE/oltp_read_only.pprof"
fi

if [[ $NEIGHBOUR == 1 ]]; then
	# A CPU-bound neighbour on one core for both servers' runs.
	taskset -c 0 bash -c 'while :; do :; done' &
	neighbour=$!
	pids+=($neighbour)
fi

printf '\nsbtest1: %d rows, %d threads, %ds per run%s, load %s\n\n' "$ROWS" "$THREADS" "$TIME" \
	"$( ((NEIGHBOUR == 1)) && echo ', a busy loop beside on core 0')" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %12s %12s %8s\n' "" "Imago" "MariaDB" "ratio"
report() { # name imago mariadb
	printf '%-22s %12s %12s %8s\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')"
}
for test in ${TESTS:-oltp_point_select oltp_read_only select1}; do
	[[ $test == select1 ]] && test=$PWD/bench/select1.lua
	ic=$(cpu_ticks $imago_pid)
	read -r iq it ip < <(sysbench_run $IMAGO_PORT "$test")
	ic=$(($(cpu_ticks $imago_pid) - ic))
	mc=$(cpu_ticks $peer_pid)
	read -r mq mt mp < <(sysbench_run $PEER_PORT "$test")
	mc=$(($(cpu_ticks $peer_pid) - mc))
	name=$(basename "$test" .lua)
	if [[ $name == oltp_read_only ]]; then
		report "$name TPS" "$it" "$mt"
		# The server's CPU time per transaction: what the load beside does
		# not change.
		report "$name CPU us/txn" "$(cpu_us "$ic" "$it")" "$(cpu_us "$mc" "$mt")"
	else
		report "$name QPS" "$iq" "$mq"
		report "$name CPU us/query" "$(cpu_us "$ic" "$iq")" "$(cpu_us "$mc" "$mq")"
	fi
	report "$name p95 ms" "$ip" "$mp"
done

if [[ $NEIGHBOUR == 1 ]]; then
	kill "$neighbour"
fi

if [[ ${MEMORY:-1} == 0 ]]; then
	exit 0
fi

# Memory: MariaDB's own figure for the table; Imago's resident set after
# loading (the log's memtable included), and the image alone from the Go
# benchmark (heap per row, the table and its two indexes).
read -r mbytes < <(mariadb --socket="$work/mariadb.sock" -N -e \
	"SELECT data_length + index_length FROM information_schema.tables WHERE table_schema = 'sbtest' AND table_name = 'sbtest1'")
printf '\n%-22s %12s %12s\n' "bytes per row" "Imago" "MariaDB"
image=$(go test -run '^$' -bench 'ImageMemory' -benchtime 1x ./bench/sbtest/ | awk '/bytes\/row/ {for (i = 1; i < NF; i++) if ($(i+1) == "bytes/row") print $i}')
printf '%-22s %12s %12s\n' "table (image / InnoDB)" "${image%.*}" "$((mbytes / ROWS))"
printf '%-22s %12s\n' "process RSS" "$(($(rss_kb $imago_pid) * 1024 / ROWS))"
