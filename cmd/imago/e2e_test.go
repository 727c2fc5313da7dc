package main

import (
	"bufio"
	"bytes"
	"context"
	gosql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/wal"
)

// binary is the imago binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imago-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "imago")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build imago: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running imago serve.
type proc struct {
	cmd      *exec.Cmd
	httpAddr string
	sqlAddr  string
	seq      uint64 // recovered seq from the startup line
	stderr   *bytes.Buffer
	exited   chan error
}

// start runs imago serve on dir with free ports and waits for its startup line.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startBinary(t, binary, dir, args...)
}

// startBinary is start with another program built on cli.Main.
func startBinary(t *testing.T, bin, dir string, args ...string) *proc {
	t.Helper()
	return startCommand(t, bin, "serve", dir, args...)
}

// startCommand runs a serving command (serve, replica) of bin.
func startCommand(t *testing.T, bin, sub, dir string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{sub, "--data", dir, "--http-addr", "127.0.0.1:0",
		"--mysql-addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.stderr.WriteString(sc.Text() + "\n")
			var line struct {
				Msg, HTTP, MySQL string
				RecoveredSeq     uint64 `json:"recovered_seq"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "imago started" {
				p.httpAddr, p.sqlAddr, p.seq = line.HTTP, line.MySQL, line.RecoveredSeq
				started <- true
			}
		}
		started <- false
		p.exited <- cmd.Wait()
	}()
	select {
	case ok := <-started:
		if !ok {
			t.Fatalf("imago exited before starting:\n%s", p.stderr)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("imago did not start:\n%s", p.stderr)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

// seqNow is the process's published seq (GET /readyz).
func (p *proc) seqNow(t *testing.T) uint64 {
	t.Helper()
	resp, err := http.Get("http://" + p.httpAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ready struct{ Seq uint64 }
	if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil {
		t.Fatal(err)
	}
	return ready.Seq
}

func (p *proc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.exited:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("imago did not exit after %v:\n%s", sig, p.stderr)
		return nil
	}
}

var registry = func() *commands.Registry {
	r, err := commands.NewRegistry(shop.App().Commands...)
	if err != nil {
		panic(err)
	}
	return r
}()

type ack struct {
	seq uint64
	id  string
	cmd commands.Command
}

// submit posts cmd with an idempotency key; ok reports a 200 with its seq.
func submit(client *http.Client, addr, id string, cmd commands.Command) (seq uint64, status int, err error) {
	def, err := registry.Of(cmd)
	if err != nil {
		return 0, 0, err
	}
	body, _ := json.Marshal(cmd)
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/commands/"+def.Name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var out struct{ Seq uint64 }
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		err = json.Unmarshal(b, &out)
	}
	return out.Seq, resp.StatusCode, err
}

// TestCrashUnderLoad: 16 concurrent writers over HTTP, the process killed
// with SIGKILL mid-load, restarted; three times over the same data. After
// each restart every acknowledged command is in the log at its seq and its
// effect is in the image, and the served image equals a replay of the log.
// In durability always and interval alike: a process crash loses nothing
// acknowledged (interval acknowledges once the entry reached the kernel).
func TestCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test")
	}
	for _, durability := range []string{"always", "interval=1s"} {
		t.Run(durability, func(t *testing.T) { crashUnderLoad(t, "--durability", durability) })
	}
}

func crashUnderLoad(t *testing.T, args ...string) {
	dir := t.TempDir()
	start := func(t *testing.T, dir string) *proc { return start(t, dir, args...) }
	p := start(t, dir)
	client := &http.Client{Timeout: 10 * time.Second}
	for i, c := range workload.Setup(50, 30) {
		if _, status, err := submit(client, p.httpAddr, fmt.Sprintf("setup-%d", i), c); err != nil || status != 200 {
			t.Fatalf("setup: %d %v", status, err)
		}
	}
	var acked []ack
	for cycle := 0; cycle < 3; cycle++ {
		acked = append(acked, loadAndKill(t, p, client, cycle, time.Duration(300+200*cycle)*time.Millisecond)...)
		p = start(t, dir)
		checkAcknowledged(t, p, acked)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p.stderr)
	}
	checkLogAndReplay(t, dir, acked)
}

// loadAndKill runs 16 writers against p and SIGKILLs it after d.
func loadAndKill(t *testing.T, p *proc, client *http.Client, cycle int, d time.Duration) []ack {
	var mu sync.Mutex
	var acked []ack
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := workload.New(fmt.Sprintf("%d-%d", cycle, w), uint64(cycle*100+w), 50, 30)
			for i := 0; ctx.Err() == nil && i < 100000; i++ {
				cmd := g.Next()
				id := fmt.Sprintf("k-%d-%d-%d", cycle, w, i)
				seq, status, err := submit(client, p.httpAddr, id, cmd)
				if err != nil {
					return // the process is gone
				}
				if status == 200 {
					mu.Lock()
					acked = append(acked, ack{seq: seq, id: id, cmd: cmd})
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(d)
	p.stop(t, syscall.SIGKILL)
	cancel()
	wg.Wait()
	t.Logf("cycle %d: %d commands acknowledged before SIGKILL", cycle, len(acked))
	if len(acked) < 50 {
		t.Fatalf("cycle %d: only %d commands acknowledged before the kill; the test needs load", cycle, len(acked))
	}
	return acked
}

// checkAcknowledged verifies through SQL that the restarted process holds
// every acknowledged order.
func checkAcknowledged(t *testing.T, p *proc, acked []ack) {
	t.Helper()
	var maxSeq uint64
	for _, a := range acked {
		maxSeq = max(maxSeq, a.seq)
	}
	if p.seq < maxSeq {
		t.Fatalf("recovered seq %d, but seq %d was acknowledged", p.seq, maxSeq)
	}
	conn, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.Query("SELECT order_id FROM orders")
	if err != nil {
		t.Fatal(err)
	}
	orders := map[string]bool{}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		orders[id] = true
	}
	rows.Close()
	for _, a := range acked {
		if o, ok := a.cmd.(*shop.PlaceOrder); ok && !orders[o.OrderID] {
			t.Fatalf("acknowledged order %s (seq %d) is missing after the crash", o.OrderID, a.seq)
		}
	}
}

// checkLogAndReplay opens the data in-process: each acknowledged seq holds
// the command acknowledged for it, and the image equals a replay.
func checkLogAndReplay(t *testing.T, dir string, acked []ack) {
	t.Helper()
	db, err := imago.Open(dir, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bySeq := map[uint64]ack{}
	for _, a := range acked {
		if prev, dup := bySeq[a.seq]; dup {
			t.Fatalf("seq %d acknowledged twice (%s and %s)", a.seq, prev.id, a.id)
		}
		bySeq[a.seq] = a
	}
	found := 0
	err = db.Log().Read(1, db.Log().LastSeq(), func(e wal.Entry) error {
		a, ok := bySeq[e.Seq]
		if !ok {
			return nil
		}
		env, err := envelope.Decode(e.Seq, e.Data)
		if err != nil {
			return err
		}
		def, _ := registry.Of(a.cmd)
		if env.ID != a.id || env.Name != def.Name {
			return fmt.Errorf("seq %d holds %s %s, but %s %s was acknowledged for it", e.Seq, env.Name, env.ID, def.Name, a.id)
		}
		found++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != len(acked) {
		t.Fatalf("%d of %d acknowledged commands are in the log", found, len(acked))
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

func TestServeRefusesBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--app", "nope"}, "", `no such application`},
		{[]string{"--durability", "sometimes"}, "", `want always, none or interval=<duration>`},
		{nil, "IMAGO_DURABILITY=interval=-1s", "interval must be a positive duration"},
		{[]string{"--mysql-addr", "0.0.0.0:0"}, "", "--mysql-password"},
		{[]string{"--checkpoint-share", "0"}, "", "--checkpoint-share 0: want a share of the time above 0"},
		{[]string{"--http-addr", "0.0.0.0:0"}, "", "there are no tokens: anyone could write; give --http-tokens"},
		{[]string{"--http-tokens", "/nonexistent/tokens"}, "", "--http-tokens: tokens: open /nonexistent/tokens"},
		{[]string{"--checkpoints-keep", "0"}, "", "keep at least 1"},
		{[]string{"--webhook-url", "ftp://example.com/hook"}, "", `--webhook-url: "ftp://example.com/hook": want an absolute http:// or https:// URL`},
		{[]string{"--reorder-below", "-1"}, "", "--reorder-below -1: want a stock level of at least 1"},
		{[]string{"--app", "dictionary", "--reorder-below", "3"}, "", "--reorder-below is a flag of app shop; --app dictionary has no such flag"},
		{[]string{"--mysql-addr", "nowhere"}, "", `--mysql-addr "nowhere": want host:port`},
		{[]string{"--gc-percent", "-2"}, "", "--gc-percent, --memory-limit: gc percent -2: want -1 (off), 0 or more"},
		{[]string{"--gc-percent", "-1", "--memory-limit", "0"}, "", "gc percent -1 (off) needs a memory limit"},
	} {
		// Every setting is checked before anything is created or bound: the
		// data directory is not made, and the default ports (which another
		// process may hold) are never tried.
		data := filepath.Join(t.TempDir(), "data")
		cmd := exec.Command(binary, append([]string{"serve", "--log-format", "json", "--data", data}, c.args...)...)
		cmd.Env = append(os.Environ(), c.env)
		out, err := cmd.CombinedOutput()
		var line struct{ Level, Msg, Err string }
		if jerr := json.Unmarshal(out, &line); err == nil || jerr != nil || line.Level != "ERROR" ||
			line.Msg != "imago refused to start" || !strings.Contains(line.Err, c.want) {
			t.Errorf("%v %s: exit %v, output %q; want one log line: refused to start, %q", c.args, c.env, err, out, c.want)
		}
		if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v %s: a refused start left %s (%v)", c.args, c.env, data, err)
		}
	}
	// Before there is a logger, the error is printed as it is.
	out, err := exec.Command(binary, "serve", "--log-level", "loud").CombinedOutput()
	if want := `imago: --log-level "loud": want debug, info, warn or error`; err == nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("--log-level loud: exit %v, output %q; want %q", err, out, want)
	}
}

// TestMetricsAndSlowQueries: the binary serves Prometheus metrics on its
// HTTP address, counting what the API accepted and refused, and logs the
// SQL statements slower than --slow-query, only those.
func TestMetricsAndSlowQueries(t *testing.T) {
	p := start(t, t.TempDir(), "--durability", "none", "--slow-query", "40ms")
	client := &http.Client{Timeout: 10 * time.Second}
	for i, c := range []commands.Command{
		&shop.AddProduct{SKU: "a", Name: "A", Category: "c", PriceCents: 100, Stock: 1},
		&shop.AddProduct{SKU: "b", Name: "B", Category: "c", PriceCents: 100, Stock: 1},
		&shop.AddProduct{SKU: "a", Name: "A again", Category: "c", PriceCents: 100, Stock: 1},
	} {
		if _, status, err := submit(client, p.httpAddr, fmt.Sprint("m", i), c); err != nil || (status != 200 && status != 422) {
			t.Fatalf("command %d: %d %v", i, status, err)
		}
	}
	resp, err := client.Get("http://" + p.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`imago_commands_accepted_total{command="add_product"} 2`,
		`imago_commands_refused_total{command="add_product"} 1`,
		"imago_last_durable_seq 2",
		`imago_image_rows{table="products"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	conn, err := gosql.Open("mysql", "root@tcp("+p.sqlAddr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"SELECT SLEEP(0.1)", "SELECT COUNT(*) FROM products"} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var slow []string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, `"msg":"slow query"`) {
			slow = append(slow, line)
		}
	}
	if len(slow) != 1 || !strings.Contains(slow[0], "SLEEP(0.1)") || !strings.Contains(slow[0], `"kind":"select"`) {
		t.Errorf("slow query lines: %q; want the SLEEP alone", slow)
	}
}
