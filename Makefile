# The two commands of the README. Run needs only Go; test also installs the
# clients of the compatibility suite (Debian packages, npm) when missing.

.PHONY: run test gotest mariadb compat difftest difftest-concurrent tpch tpcc bench bench-peers peers-packages bench-audit bench-redact bench-upcast sysbench restart-bench fuzz torture

# Run Imago: the demo shop on embedded defaults (HTTP :8080, MySQL :3306).
run:
	go run ./cmd/imago serve

# Run the tests: unit, SQL over a real MySQL client, end-to-end crash tests,
# and the client compatibility suite (mysql client, pandas, Node mysql2, Go).
test: gotest compat

gotest: mariadb
	go test -count=1 ./...

# MariaDB from Debian's package: the differential SQL suite (sql/difftest)
# starts it on its own port and data directory.
mariadb:
	command -v mariadbd >/dev/null || test -x /usr/sbin/mariadbd || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >/dev/null)

compat:
	bash compat/run.sh

# Imago's SQL answers against MariaDB's on a demo shop of 20,000 orders
# (sql/difftest; `make test` runs it on 1,500). Installs Debian's
# mariadb-server when missing; the test starts its own server in a temp dir.
difftest: mariadb
	IMAGO_DIFFTEST_REQUIRE=1 IMAGO_DIFFTEST_ORDERS=20000 go test -count=1 -timeout 30m -run TestAgainstMariaDB -v ./sql/difftest/

# The same GROUP BY from 50 clients at once on Imago and on MariaDB (20,000
# orders): median and p95 latency and the ratio; Imago's CPU profile in
# /tmp/imago-concurrent.pprof (go tool pprof -top).
difftest-concurrent: mariadb
	IMAGO_DIFFTEST_REQUIRE=1 IMAGO_DIFFTEST_ORDERS=20000 IMAGO_DIFFTEST_CLIENTS=50 IMAGO_DIFFTEST_CPUPROFILE=/tmp/imago-concurrent.pprof \
		go test -count=1 -timeout 30m -run TestConcurrentGroupBy -v ./sql/difftest/

# TPC-H's 22 queries on Imago and on MariaDB with the same rows (dbgen's, by
# go-tpc, at TPCH_SF), answers compared, times and ratios printed
# (bench/tpch). dbgen alone needs about 40 s before its first row.
TPCH_SF ?= 0.01
tpch: mariadb
	IMAGO_TPCH=1 IMAGO_TPCH_SF=$(TPCH_SF) go test -count=1 -v -timeout 90m -run TestTPCH ./bench/tpch/

# The write-path benchmarks whose figures the README quotes.
bench:
	go test -run XXX -bench 'Submit|RawFsync' -benchtime 3s .
	go test -run XXX -bench HTTPSubmit -benchtime 20000x ./api/
	go test -run XXX -bench AppendSync -benchtime 3s ./wal/
	go test -run XXX -bench Reactor -benchtime 20000x .

# Redaction of one customer in a 1M-command shop log, against a whole-log
# replay (IMAGO_BENCH_REDACT_COMMANDS to change the size); and the replay's
# decode step with an upcaster chain on every entry against none.
bench-redact:
	go test -run XXX -bench 'BenchmarkRedact$$' -benchtime 1x -timeout 3h .
bench-upcast:
	go test -run XXX -bench ReplayUpcast -benchtime 5x .

# The audit index on a 10M-command log: a lookup by customer and by actor
# against a full scan, the backfill's rate, the index's bytes per command.
bench-audit:
	IMAGO_AUDIT_COMMANDS=10000000 go test -run XXX -bench AuditIndex -benchtime 1x -timeout 60m .

# Imago against MariaDB with sysbench (point select, read-only, SELECT 1).
sysbench:
	bash bench/sysbench.sh

# TPC-C: Imago (examples/tpcc, commands over HTTP, reads over MySQL) against
# MariaDB driven by go-tpc, the same warehouses and terminals, durable
# commits on both; prints tpmC, p50/p95 per transaction and the ratio.
TPCC_WAREHOUSES ?= 1
TPCC_DURATION ?= 60s
tpcc: mariadb
	go run ./bench/tpcc -warehouses $(TPCC_WAREHOUSES) -duration $(TPCC_DURATION)

# Imago's durable writes against its peers on this machine, each server on
# its own free port and temporary data directory, one run (bench/peers):
# HTTP set (the dictionary) against Redis SET with appendfsync always, and
# HTTP place_order (the shop) against pgbench TPC-B-like and simple-update
# on PostgreSQL with synchronous_commit on, 64 connections; then sysbench
# and TPC-C against MariaDB (PEERS_MARIADB=0 skips them). Installs Debian's
# redis-server, postgresql and mariadb-server when missing.
PEERS_DURATION ?= 20s
PEERS_ROUNDS ?= 2
PEERS_MARIADB ?= 1
bench-peers: peers-packages
	go run ./bench/peers -duration $(PEERS_DURATION) -rounds $(PEERS_ROUNDS)
	if [ "$(PEERS_MARIADB)" = 1 ]; then $(MAKE) sysbench && $(MAKE) tpcc; fi

peers-packages: mariadb
	command -v redis-server >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null)
	ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# Replay, checkpoint write, restore and write drop on a generated shop log of
# 5 million rows (the default 10 million needs ~19 GB of heap; see README);
# the restore against go-memdb's floor on 453k rows (the floor holds a
# second copy of the keys and rows).
restart-bench:
	go run ./bench/restart -orders 1350000 -customers 250000 -phases replay,restore,writes
	go run ./bench/restart -orders 100000 -customers 20000 -phases replay,floor

# A short run of every fuzzer.
fuzz:
	go test -run XXX -fuzz '^FuzzDecode$$' -fuzztime 30s ./envelope/
	go test -run XXX -fuzz '^FuzzPayloadMap$$' -fuzztime 30s ./envelope/
	go test -run XXX -fuzz FuzzSubmitBody -fuzztime 30s ./api/
	go test -run XXX -fuzz '^FuzzDecode$$' -fuzztime 30s ./api/
	go test -run XXX -fuzz FuzzImportItem -fuzztime 30s ./api/
	go test -run XXX -fuzz FuzzParseHead -fuzztime 30s ./api/
	go test -run XXX -fuzz FuzzKeyOrder -fuzztime 30s ./memdb/
	go test -run XXX -fuzz 'FuzzLoad$$' -fuzztime 30s ./checkpoint/
	go test -run XXX -fuzz FuzzLoadBody -fuzztime 30s ./checkpoint/
	go test -run XXX -fuzz FuzzParseBucket -fuzztime 30s ./applier/
	go test -run XXX -fuzz FuzzDecodeMark -fuzztime 30s ./wal/
	go test -run XXX -fuzz FuzzChunkParser -fuzztime 30s ./wal/
	go test -run XXX -fuzz FuzzOperations -fuzztime 30s ./checked/

# The torture suite (torture/README.md): crash loops, lost and damaged log
# files, a full disk, hostile clients, against the real binary. CI size by
# default; `make torture TORTURE_SCALE=full` for the README's figures.
# Needs root for the full-disk check (a tmpfs mount); it skips otherwise.
TORTURE_SCALE ?= ci
torture:
	IMAGO_TORTURE=1 TORTURE_SCALE=$(TORTURE_SCALE) go test -count=1 -v -timeout 60m ./torture/
