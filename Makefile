# The two commands of the README. Both need only Go; modules are fetched on
# first use.

.PHONY: run test bench fuzz

# Run Imago: the demo shop on embedded defaults (HTTP :8080, MySQL :3306).
run:
	go run ./cmd/imago serve

# Run the tests (unit, SQL over a real MySQL client, end-to-end crash tests).
test:
	go test -count=1 ./...

# The write-path benchmarks whose figures the README quotes.
bench:
	go test -run XXX -bench 'Submit|RawFsync' -benchtime 3s .
	go test -run XXX -bench HTTPSubmit -benchtime 20000x ./api/
	go test -run XXX -bench AppendSync -benchtime 3s ./wal/

# A short run of every fuzzer.
fuzz:
	go test -run XXX -fuzz FuzzDecodeEnvelope -fuzztime 30s ./commands/
	go test -run XXX -fuzz FuzzSubmitBody -fuzztime 30s ./api/
	go test -run XXX -fuzz FuzzKeyOrder -fuzztime 30s ./memdb/
