// Command peers runs Imago's write path against its peers on this machine,
// in one run, each server on its own free port and temporary data
// directory, and prints each figure, the peer's and the ratio:
//
//	go run ./bench/peers -duration 20s     # make bench-peers
//
// The comparisons:
//
//   - HTTP `set` (the dictionary app, durability always) against Redis
//     `SET` with appendonly yes and appendfsync always: one durable key
//     write each, 64 connections, the same keys and 160-byte values, both
//     driven by this program's clients (one request at a time per
//     connection, as redis-benchmark's).
//   - HTTP `place_order` (the shop, 3 lines: 7 rows written) against
//     pgbench's TPC-B-like and simple-update scripts on PostgreSQL with
//     synchronous_commit on, 64 clients.
//
// Imago is served by this same binary (`peers serve --app ...` is Imago's
// command line for the shop and the dictionary). Redis and PostgreSQL are
// Debian's packages (`make bench-peers` installs them when missing).
// -rounds alternates the pairs to show the noise of a shared machine.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/imagodb/imago/cli"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/probe"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] != "" && os.Args[1][0] != '-' {
		cli.Main(dictionary.App(), shop.App()) // peers serve ..., Imago's command line
		return
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measured time of each run")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured time before each run")
	flag.IntVar(&o.conns, "conns", 64, "connections (clients) of every run")
	flag.IntVar(&o.rounds, "rounds", 1, "rounds of each pair, alternated")
	flag.StringVar(&o.only, "only", "set,place_order", "comparisons to run: set, place_order")
	flag.StringVar(&o.profile, "pprof", "", "write a CPU profile of Imago's (last) run to <file>.<comparison>")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup time.Duration
	conns, rounds    int
	only, profile    string
}

// valueBytes is the size of a set's value: a set then encodes to about
// the size of a place_order (BenchmarkSubmit's choice).
const valueBytes = 160

func run(o options) error {
	work, err := os.MkdirTemp("", "imago-peers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Printf("peers: %d connections, %s per run after %s warm-up, %d round(s); %d CPUs, load %s\n",
		o.conns, o.duration, o.warmup, o.rounds, runtime.NumCPU(), probe.LoadAverage())
	var rows []row
	for _, which := range strings.Split(o.only, ",") {
		var got []row
		switch which {
		case "set":
			got, err = compareSet(work, o)
		case "place_order":
			got, err = comparePlaceOrder(work, o)
		default:
			err = fmt.Errorf("-only: no comparison %q (set, place_order)", which)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", which, err)
		}
		rows = append(rows, got...)
	}
	fmt.Printf("\n%-62s %10s %10s %7s\n", "", "Imago/s", "peer/s", "ratio")
	for _, r := range rows {
		fmt.Printf("%-62s %10.0f %10.0f %6.2fx\n", r.what, r.imago, r.peer, r.imago/r.peer)
	}
	fmt.Printf("load average after: %s\n", probe.LoadAverage())
	return nil
}

// row is one comparison of one round.
type row struct {
	what        string
	imago, peer float64
}

func compareSet(work string, o options) ([]row, error) {
	value := strings.Repeat("v", valueBytes)
	body := func(b []byte, n int64) []byte {
		b = append(b, `{"key":"key-`...)
		b = strconv.AppendInt(b, n, 10)
		return append(append(append(b, `","value":"`...), value...), `"}`...)
	}
	var rows []row
	for round := 1; round <= o.rounds; round++ {
		im, err := imagoRun(work, "dictionary", "set", o, nil, body)
		if err != nil {
			return nil, err
		}
		p, addr, err := startRedis(work)
		if err != nil {
			return nil, err
		}
		rd, err := drive(addr, p.cmd.Process.Pid, o.conns, o.warmup, o.duration, redisSet(value))
		p.stop()
		os.RemoveAll(work + "/redis")
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		printRun("redis SET, appendfsync always", rd)
		rows = append(rows, row{fmt.Sprintf("HTTP set / Redis SET appendfsync always (round %d)", round), im.rate(), rd.rate()})
	}
	return rows, nil
}

func comparePlaceOrder(work string, o options) ([]row, error) {
	setup := func(base string) error { return submitAll(base, shop.App().Commands, workload.BenchSetup()) }
	body := func(b []byte, n int64) []byte {
		j, _ := json.Marshal(workload.BenchOrder(n))
		return append(b, j...)
	}
	var rows []row
	for round := 1; round <= o.rounds; round++ {
		im, err := imagoRun(work, "shop", "place_order", o, setup, body)
		if err != nil {
			return nil, err
		}
		pg, err := startPostgres(work + "/pg")
		if err != nil {
			return nil, err
		}
		tps, err := pgbenchBoth(pg, o)
		pg.stop()
		os.RemoveAll(work + "/pg")
		if err != nil {
			return nil, err
		}
		rows = append(rows,
			row{fmt.Sprintf("HTTP place_order / pgbench TPC-B, sync commit (round %d)", round), im.rate(), tps[0]},
			row{fmt.Sprintf("HTTP place_order / pgbench simple-update (round %d)", round), im.rate(), tps[1]})
	}
	return rows, nil
}

// pgbenchBoth initializes pgbench's tables (scale 64: a branch per client,
// so that clients do not all queue on one branch row) and runs TPC-B-like
// and simple-update.
func pgbenchBoth(pg *postgres, o options) ([2]float64, error) {
	var tps [2]float64
	if out, err := pg.command("pgbench", "-h", pg.socket, "-p", pg.port, "-U", "postgres", "-i", "-q", "-I", "dtGvp", "-s", strconv.Itoa(o.conns), "postgres").CombinedOutput(); err != nil {
		return tps, fmt.Errorf("pgbench -i: %w\n%s", err, out)
	}
	for i, script := range []string{"tpcb-like", "simple-update"} {
		t, cmdline, err := pg.pgbench(script, o.conns, o.duration)
		if err != nil {
			return tps, err
		}
		tps[i] = t
		fmt.Printf("  %-40s %9.0f/s   (%s)\n", "postgres "+script, t, cmdline)
	}
	return tps, nil
}

// imagoRun serves app, runs setup against it and drives command over HTTP.
func imagoRun(work, app, command string, o options, setup func(base string) error, body func([]byte, int64) []byte) (result, error) {
	p, httpAddr, pprofAddr, err := startImago(work, app)
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(work + "/imago-" + app)
	defer p.stop()
	if setup != nil {
		if err := setup("http://" + httpAddr); err != nil {
			return result{}, err
		}
	}
	var profile func() error
	if o.profile != "" {
		profile = probe.CPUProfile("http://"+pprofAddr, o.warmup, int(o.duration.Seconds())-1, o.profile+"."+command)
	}
	before, err := probe.Metrics("http://" + httpAddr + "/metrics")
	if err != nil {
		return result{}, err
	}
	res, err := drive(httpAddr, p.cmd.Process.Pid, o.conns, o.warmup, o.duration, httpPost(httpAddr, "/v1/commands/"+command, body))
	if err != nil {
		return result{}, fmt.Errorf("imago: %w", err)
	}
	if profile != nil {
		if err := profile(); err != nil {
			return result{}, err
		}
	}
	printRun("imago HTTP "+command+", durability always", res)
	after, err := probe.Metrics("http://" + httpAddr + "/metrics")
	if err != nil {
		return result{}, err
	}
	fmt.Printf("  %-40s %s\n", "", probe.Writer(before, after))
	return res, nil
}

func printRun(what string, r result) {
	fmt.Printf("  %-40s %9.0f/s   p50 %6.2f ms  p99 %6.2f ms   CPU per op: server %5.1f µs, client %5.1f µs\n",
		what, r.rate(), ms(r.pct(50)), ms(r.pct(99)), r.cpuPerOp(r.serverCPU), r.cpuPerOp(r.clientCPU))
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// submitAll submits cmds over HTTP one by one.
func submitAll(base string, defs []commands.Definition, cmds []commands.Command) error {
	reg, err := commands.NewRegistry(defs...)
	if err != nil {
		return err
	}
	for _, c := range cmds {
		def, err := reg.Of(c)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(c)
		resp, err := http.Post(base+"/v1/commands/"+def.Name, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("setup %s: %s", def.Name, resp.Status)
		}
	}
	return nil
}
