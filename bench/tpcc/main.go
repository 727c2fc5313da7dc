// Command tpcc runs TPC-C against Imago and against MariaDB on this
// machine, one after the other, with the same warehouses, terminals and
// duration, durable commits on both, and prints tpmC, p50/p95 per
// transaction and the ratio:
//
//	go run ./bench/tpcc -warehouses 2 -duration 60s    # make tpcc
//
// Imago serves the tpcc app (examples/tpcc) from this same binary
// (`tpcc serve ...` is Imago's command line for that app) with durability
// always; the driver is package workload: New-Order, Payment and Delivery
// as commands over HTTP/JSON, Order-Status and Stock-Level as prepared SQL
// over MySQL. MariaDB (Debian's mariadb-server) is started on its own port
// and data directory with innodb_flush_log_at_trx_commit=1 and driven by
// github.com/pingcap/go-tpc, built with `go install` from the module proxy.
// Both runs use the specification's mix (45/43/4/4/4, go-tpc's weights) and
// no keying or think time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imagodb/imago/cli"
	"github.com/imagodb/imago/examples/tpcc"
	"github.com/imagodb/imago/examples/tpcc/workload"
	"github.com/imagodb/imago/internal/probe"
)

// goTPC is the go-tpc release the comparison is built with.
const goTPC = "github.com/pingcap/go-tpc/cmd/go-tpc@v1.0.7"

func main() {
	if len(os.Args) > 1 && os.Args[1] != "" && os.Args[1][0] != '-' {
		cli.Main(tpcc.App()) // tpcc serve ..., and the other Imago commands
		return
	}
	warehouses := flag.Int("warehouses", 1, "warehouses (the same for both)")
	duration := flag.Duration("duration", 60*time.Second, "measured run per database")
	terminals := flag.Int("terminals", 0, "concurrent terminals (go-tpc's threads); 0: the specification's 10 per warehouse")
	loaders := flag.Int("load-threads", 4, "concurrent loaders")
	peer := flag.Bool("peer", true, "also run MariaDB with go-tpc")
	imago := flag.Bool("imago", true, "run Imago")
	pprofFile := flag.String("pprof", "", "write a CPU profile of Imago's run to this file (Imago serves pprof on a loopback port)")
	driverProfile := flag.String("driver-pprof", "", "write a CPU profile of this driver's Imago run to this file")
	flag.Parse()
	if *driverProfile != "" {
		f, err := os.Create(*driverProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tpcc:", err)
			os.Exit(1)
		}
		defer f.Close()
		profileDriver = func() func() {
			pprof.StartCPUProfile(f)
			return pprof.StopCPUProfile
		}
	}
	if *terminals == 0 {
		*terminals = 10 * *warehouses // clause 4.2.2: ten terminals per warehouse
	}
	if err := run(*warehouses, *duration, *terminals, *loaders, *imago, *peer, *pprofFile); err != nil {
		fmt.Fprintln(os.Stderr, "tpcc:", err)
		os.Exit(1)
	}
}

// profileDriver, when set, starts a CPU profile of the driver's Imago run
// and returns what stops it.
var profileDriver func() func()

// figures is one database's run: tpmC and p50/p95 by transaction.
type figures struct {
	tpmC     float64
	p50, p95 [5]time.Duration
	counts   [5]int
	errors   int
}

func run(warehouses int, duration time.Duration, terminals, loaders int, runImago, runPeer bool, profile string) error {
	work, err := os.MkdirTemp("", "tpcc-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Printf("TPC-C: %d warehouse(s), %d terminals, %s per database, no think time, durable commits\n", warehouses, terminals, duration)
	var im, mdb *figures
	if runImago {
		if im, err = runImagoBench(work, warehouses, duration, terminals, loaders, profile); err != nil {
			return fmt.Errorf("imago: %w", err)
		}
	}
	if runPeer {
		if mdb, err = runMariaDB(work, warehouses, duration, terminals, loaders); err != nil {
			return fmt.Errorf("mariadb: %w", err)
		}
	}
	report(im, mdb)
	return nil
}

func report(im, mdb *figures) {
	col := func(f *figures, get func(*figures) string) string {
		if f == nil {
			return "-"
		}
		return get(f)
	}
	ratio := func(a, b float64) string {
		if a == 0 || b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }
	fmt.Printf("\n%-26s %12s %12s %8s\n", "", "Imago", "MariaDB", "ratio")
	var a, b float64
	if im != nil {
		a = im.tpmC
	}
	if mdb != nil {
		b = mdb.tpmC
	}
	fmt.Printf("%-26s %12s %12s %8s\n", "tpmC", col(im, func(f *figures) string { return fmt.Sprintf("%.0f", f.tpmC) }),
		col(mdb, func(f *figures) string { return fmt.Sprintf("%.0f", f.tpmC) }), ratio(a, b))
	for tx, name := range workload.TxNames {
		for _, p := range []struct {
			label string
			get   func(*figures) time.Duration
		}{{"p50 ms", func(f *figures) time.Duration { return f.p50[tx] }}, {"p95 ms", func(f *figures) time.Duration { return f.p95[tx] }}} {
			var x, y float64
			if im != nil {
				x = float64(p.get(im))
			}
			if mdb != nil {
				y = float64(p.get(mdb))
			}
			fmt.Printf("%-26s %12s %12s %8s\n", name+" "+p.label, col(im, func(f *figures) string { return ms(p.get(f)) }),
				col(mdb, func(f *figures) string { return ms(p.get(f)) }), ratio(x, y))
		}
	}
	fmt.Printf("%-26s %12s %12s\n", "transactions", col(im, func(f *figures) string { return fmt.Sprint(sum(f.counts)) }),
		col(mdb, func(f *figures) string { return fmt.Sprint(sum(f.counts)) }))
	fmt.Printf("%-26s %12s %12s\n", "errors (retried by none)", col(im, func(f *figures) string { return fmt.Sprint(f.errors) }),
		col(mdb, func(f *figures) string { return fmt.Sprint(f.errors) }))
}

func sum(xs [5]int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// runImagoBench serves the tpcc app from this binary, loads it and runs
// the workload.
func runImagoBench(work string, warehouses int, duration time.Duration, terminals, loaders int, profile string) (*figures, error) {
	httpAddr, err := probe.FreeAddr()
	if err != nil {
		return nil, err
	}
	sqlAddr, err := probe.FreeAddr()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := probe.FreeAddr()
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(work, "imago.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(self, "serve", "--data", filepath.Join(work, "imago"), "--durability", "always",
		"--http-addr", httpAddr, "--mysql-addr", sqlAddr, "--pprof-addr", pprofAddr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer stopProcess(cmd)
	if err := waitReady("http://" + httpAddr + "/readyz"); err != nil {
		return nil, err
	}
	c, err := workload.NewClient(httpAddr, sqlAddr, terminals)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ctx := context.Background()
	consts := workload.NewConstants(rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)))
	began := time.Now()
	if err := workload.Load(ctx, c, workload.Full(warehouses), uint64(time.Now().UnixNano()), consts.CLoad, loaders); err != nil {
		return nil, err
	}
	fmt.Printf("imago: loaded in %.1f s; running\n", time.Since(began).Seconds())
	before, err := probe.Metrics("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	var stopProfile func() error
	if profile != "" {
		stopProfile = probe.CPUProfile("http://"+pprofAddr, 0, int(duration.Seconds())-2, profile)
	}
	if profileDriver != nil {
		defer profileDriver()()
	}
	res, err := workload.Run(ctx, c, workload.Config{Scale: workload.Full(warehouses), Constants: consts,
		Terminals: terminals, Duration: duration, Seed: uint64(time.Now().UnixNano())})
	if err != nil {
		return nil, err
	}
	if stopProfile != nil {
		if err := stopProfile(); err != nil {
			return nil, err
		}
	}
	f := &figures{tpmC: res.TpmC(), counts: res.Count}
	for tx := range f.p50 {
		f.p50[tx], f.p95[tx] = res.Percentile(tx, 50), res.Percentile(tx, 95)
	}
	fmt.Printf("imago: %v transactions, %d New-Orders rolled back\n", res.Count, res.Rollbacks)
	after, err := probe.Metrics("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	fmt.Printf("imago: %s (means over the run)\n", probe.Writer(before, after))
	return f, nil
}

func waitReady(url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within 60 s", url)
}

// stopProcess stops a process this harness started: SIGTERM, then SIGKILL
// after 30 s.
func stopProcess(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// runMariaDB starts MariaDB in work, loads it with go-tpc and runs go-tpc.
func runMariaDB(work string, warehouses int, duration time.Duration, terminals, loaders int) (*figures, error) {
	bin := filepath.Join(work, "bin")
	install := exec.Command("go", "install", goTPC)
	install.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go install %s: %w\n%s", goTPC, err, out)
	}
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		if mariadbd, err = exec.LookPath("/usr/sbin/mariadbd"); err != nil {
			return nil, errors.New("mariadbd not found: apt-get install -y mariadb-server (make tpcc installs it)")
		}
	}
	data, sock := filepath.Join(work, "mariadb"), filepath.Join(work, "mariadb.sock")
	if out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--user=root").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %w\n%s", err, out)
	}
	addr, err := probe.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	logf, err := os.Create(filepath.Join(work, "mariadb.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Durable commits: the redo log is flushed and synced at each commit
	// (innodb_flush_log_at_trx_commit=1, also the default); the buffer pool
	// holds the whole database (~100 MB per warehouse), as Imago's memory does.
	cmd := exec.Command(mariadbd, "--no-defaults", "--datadir="+data, "--socket="+sock, "--port="+port,
		"--bind-address=127.0.0.1", "--pid-file="+filepath.Join(work, "mariadb.pid"), "--user=root", "--skip-grant-tables",
		"--innodb-flush-log-at-trx-commit=1", "--innodb-buffer-pool-size=2G", "--innodb-log-file-size=512M", "--max-connections=500")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer stopProcess(cmd)
	deadline := time.Now().Add(60 * time.Second)
	for exec.Command("mariadb-admin", "--socket="+sock, "ping").Run() != nil {
		if time.Now().After(deadline) {
			return nil, errors.New("mariadbd not ready within 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, err := exec.Command("mariadb", "--socket="+sock, "-e", "CREATE DATABASE tpcc").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("create database: %w\n%s", err, out)
	}
	common := []string{"tpcc", "-H", "127.0.0.1", "-P", port, "-D", "tpcc", "--warehouses", strconv.Itoa(warehouses)}
	began := time.Now()
	prepare := exec.Command(filepath.Join(bin, "go-tpc"), append(common, "-T", strconv.Itoa(loaders), "prepare", "--no-check")...)
	if out, err := prepare.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go-tpc prepare: %w\n%s", err, out)
	}
	fmt.Printf("mariadb: loaded in %.1f s; running\n", time.Since(began).Seconds())
	out, err := exec.Command(filepath.Join(bin, "go-tpc"), append(common, "-T", strconv.Itoa(terminals), "--time", duration.String(),
		"--interval", "1h", "run")...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go-tpc run: %w\n%s", err, out)
	}
	return parseGoTPC(string(out))
}

var (
	summaryLine = regexp.MustCompile(`\[Summary\] (\w+) - Takes\(s\): [\d.]+, Count: (\d+), .*50th\(ms\): ([\d.]+), 90th\(ms\): [\d.]+, 95th\(ms\): ([\d.]+)`)
	tpmCLine    = regexp.MustCompile(`tpmC: ([\d.]+)`)
	goTPCNames  = map[string]int{"NEW_ORDER": workload.TxNewOrder, "PAYMENT": workload.TxPayment, "ORDER_STATUS": workload.TxOrderStatus,
		"DELIVERY": workload.TxDelivery, "STOCK_LEVEL": workload.TxStockLevel}
)

// parseGoTPC reads go-tpc's summary: a line per transaction (and per
// transaction's errors, _ERR), then tpmC.
func parseGoTPC(out string) (*figures, error) {
	f := &figures{}
	for _, m := range summaryLine.FindAllStringSubmatch(out, -1) {
		count, _ := strconv.Atoi(m[2])
		if strings.HasSuffix(m[1], "_ERR") {
			f.errors += count
			continue
		}
		tx, ok := goTPCNames[m[1]]
		if !ok {
			continue
		}
		p50, _ := strconv.ParseFloat(m[3], 64)
		p95, _ := strconv.ParseFloat(m[4], 64)
		f.counts[tx] = count
		f.p50[tx], f.p95[tx] = time.Duration(p50*1e6), time.Duration(p95*1e6)
	}
	m := tpmCLine.FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("no tpmC in go-tpc's output:\n%s", out)
	}
	f.tpmC, _ = strconv.ParseFloat(m[1], 64)
	return f, nil
}
