package torture

import (
	"bufio"
	"bytes"
	"context"
	gosql "database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// binary is the imago binary built once in TestMain.
var binary string

// scale is how hard the suite hits: ci fits a few minutes on 2 cores, full
// gives the README's reliability figures.
type scale struct {
	name      string
	cycles    int           // crash-loop cycles per durability mode
	load      time.Duration // longest load before a SIGKILL
	writers   int           // concurrent HTTP writers
	flips     int           // byte flips per kind of file
	customers int           // catalogue of the workload
	products  int
}

var scales = map[string]scale{
	"ci":   {name: "ci", cycles: 4, load: 1500 * time.Millisecond, writers: 16, flips: 3, customers: 50, products: 30},
	"full": {name: "full", cycles: 30, load: 4 * time.Second, writers: 32, flips: 20, customers: 500, products: 200},
}

// sc is the scale of this run: TORTURE_SCALE (ci or full, default ci).
var sc = scales["ci"]

func TestMain(m *testing.M) {
	if os.Getenv("IMAGO_TORTURE") != "1" {
		os.Exit(m.Run()) // every test skips (need)
	}
	// The driver's complaints about connections to killed servers are noise.
	mysql.SetLogger(log.New(io.Discard, "", 0))
	if s := os.Getenv("TORTURE_SCALE"); s != "" {
		var ok bool
		if sc, ok = scales[s]; !ok {
			fmt.Fprintf(os.Stderr, "TORTURE_SCALE=%q: want ci or full\n", s)
			os.Exit(2)
		}
	}
	dir, err := os.MkdirTemp("", "imago-torture")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "imago")
	if out, err := exec.Command("go", "build", "-o", binary, "github.com/imagodb/imago/cmd/imago").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build imago: %v\n%s", err, out)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "torture: scale %s (%+v)\n", sc.name, sc)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need skips t unless the torture suite was asked for.
func need(t *testing.T) {
	t.Helper()
	if os.Getenv("IMAGO_TORTURE") != "1" {
		t.Skip("torture suite: set IMAGO_TORTURE=1 (make torture)")
	}
}

// proc is a running imago serve.
type proc struct {
	cmd      *exec.Cmd
	httpAddr string
	sqlAddr  string
	seq      uint64 // recovered seq, from the startup line
	ckptSeq  uint64 // the checkpoint recovery loaded (0: none)
	mu       sync.Mutex
	stderr   bytes.Buffer
	exited   chan struct{}
	waitErr  error
}

// output is what the process wrote to stderr so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startTimeout bounds a start: recovery of the full-size logs takes seconds,
// a hang is what it catches.
const startTimeout = 2 * time.Minute

// tryStart runs imago serve on dir with free ports. It returns the process
// once it printed its startup line, or its output and exit error when it
// exited before; a process that does neither within startTimeout fails t
// (a start must never hang).
func tryStart(t *testing.T, dir string, args ...string) (*proc, string, error) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--data", dir, "--http-addr", "127.0.0.1:0",
		"--mysql-addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			var line struct {
				Msg, HTTP, MySQL string
				RecoveredSeq     uint64 `json:"recovered_seq"`
				CheckpointSeq    uint64 `json:"checkpoint_seq"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "imago started" {
				p.httpAddr, p.sqlAddr, p.seq, p.ckptSeq = line.HTTP, line.MySQL, line.RecoveredSeq, line.CheckpointSeq
				started <- true
			}
		}
		started <- false
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	// Killed and reaped at the end of the test whatever happens, before
	// the temporary directories (or a file system) are removed.
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.exited })
	select {
	case ok := <-started:
		if ok {
			return p, "", nil
		}
		<-p.exited
		return nil, p.output(), p.waitErr
	case <-time.After(startTimeout):
		cmd.Process.Kill()
		<-p.exited
		t.Fatalf("imago neither started nor exited within %v (a start must not hang):\n%s", startTimeout, p.output())
		return nil, "", nil
	}
}

// start is tryStart for a start that must succeed.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p, out, err := tryStart(t, dir, args...)
	if p == nil {
		t.Fatalf("imago refused to start (%v):\n%s", err, out)
	}
	return p
}

// signal sends sig and waits for the exit.
func (p *proc) signal(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		t.Fatalf("imago did not exit within a minute of %v:\n%s", sig, p.output())
		return nil
	}
}

// kill is a crash: SIGKILL, nothing runs after it.
func (p *proc) kill(t *testing.T) { t.Helper(); p.signal(t, syscall.SIGKILL) }

// stop is a graceful stop (SIGTERM), which must succeed.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p.output())
	}
}

// runImago runs an imago subcommand to its end (bounded: a tool must not
// hang either).
func runImago(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("imago %s did not finish within %v:\n%s", strings.Join(args, " "), startTimeout, out)
	}
	return string(out), err
}

var registry = func() *commands.Registry {
	r, err := commands.NewRegistry(shop.App().Commands...)
	if err != nil {
		panic(err)
	}
	return r
}()

// ack is an acknowledged command: the server answered 200 with its seq.
type ack struct {
	seq  uint64
	id   string // its Idempotency-Key, which Imago logs as its id
	name string
	body []byte
	at   time.Time // when the acknowledgment arrived
}

// client is for the writers: generous timeouts, a slow disk is not a failure.
var client = &http.Client{Timeout: 30 * time.Second}

// post submits a command body with an idempotency key.
func post(addr, name, id string, body []byte) (seq uint64, status int, replayed bool, err error) {
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/commands/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct{ Seq uint64 }
	if resp.StatusCode == 200 {
		err = json.Unmarshal(b, &out)
	}
	return out.Seq, resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true", err
}

// encode is a command's name and JSON body.
func encode(cmd commands.Command) (string, []byte) {
	def, err := registry.Of(cmd)
	if err != nil {
		panic(err)
	}
	body, _ := json.Marshal(cmd)
	return def.Name, body
}

// setup creates the workload's catalogue; its commands are acknowledged too.
func setup(t *testing.T, addr, tag string) []ack {
	t.Helper()
	var acks []ack
	for i, c := range workload.Setup(sc.customers, sc.products) {
		name, body := encode(c)
		id := fmt.Sprintf("%s-setup-%d", tag, i)
		seq, status, _, err := post(addr, name, id, body)
		if err != nil || status != 200 {
			t.Fatalf("setup command %d: status %d, %v", i, status, err)
		}
		acks = append(acks, ack{seq: seq, id: id, name: name, body: body})
	}
	return acks
}

// load is writers submitting the shop workload until stopped.
type load struct {
	mu       sync.Mutex
	acks     []ack
	statuses map[int]int // answers other than 200 and 422, by status (0: no answer)
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startLoad runs writers against addr; tag keeps ids and order ids of
// different loads apart.
func startLoad(addr, tag string, writers int, seed uint64) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel, statuses: map[int]int{}}
	for w := 0; w < writers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			g := workload.New(fmt.Sprintf("%s-%d", tag, w), seed*1000+uint64(w), sc.customers, sc.products)
			for i := 0; ctx.Err() == nil; i++ {
				name, body := encode(g.Next())
				id := fmt.Sprintf("%s-%d-%d", tag, w, i)
				seq, status, _, err := post(addr, name, id, body)
				l.mu.Lock()
				switch {
				case err == nil && status == 200:
					l.acks = append(l.acks, ack{seq: seq, id: id, name: name, body: body, at: time.Now()})
				case err != nil:
					l.statuses[0]++
				case status != 422:
					l.statuses[status]++
				}
				l.mu.Unlock()
				if err != nil {
					// The process is gone or refuses: slow down, the caller decides.
					select {
					case <-ctx.Done():
					case <-time.After(10 * time.Millisecond):
					}
				}
			}
		}()
	}
	return l
}

// count is the commands acknowledged so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// stop ends the writers and returns what was acknowledged.
func (l *load) stop() []ack {
	l.cancel()
	l.wg.Wait()
	return l.acks
}

// ledger is every command acknowledged over a test, by seq.
type ledger map[uint64]ack

func (lg ledger) add(t *testing.T, acks []ack) {
	t.Helper()
	for _, a := range acks {
		if prev, dup := lg[a.seq]; dup && prev.id != a.id {
			// Two live acknowledgements of one seq: the server handed it out
			// twice without a restart in between (a restart is checked apart).
			t.Errorf("seq %d acknowledged for %s and again for %s", a.seq, prev.id, a.id)
		}
		lg[a.seq] = a
	}
}

func (lg ledger) max() uint64 {
	var m uint64
	for s := range lg {
		m = max(m, s)
	}
	return m
}

// sqlDB connects as root to a running server.
func sqlDB(t *testing.T, addr string) *gosql.DB {
	t.Helper()
	db, err := gosql.Open("mysql", "root@tcp("+addr+")/shop?timeout=30s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// logIDs reads imago.commands of a running server: the id of each seq. It
// fails t on a gap (seqs are 1, 2, 3, … with none missing) and on an entry
// that cannot be read.
func logIDs(t *testing.T, p *proc) map[uint64]string {
	t.Helper()
	ids, err := readLog(t, p)
	if err != nil {
		t.Fatalf("read imago.commands: %v", err)
	}
	return ids
}

// readLog is logIDs returning a read error instead of failing.
func readLog(t *testing.T, p *proc) (map[uint64]string, error) {
	t.Helper()
	db := sqlDB(t, p.sqlAddr)
	rows, err := db.Query("SELECT seq, id FROM imago.commands ORDER BY seq")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[uint64]string{}
	var prev uint64
	for rows.Next() {
		var seq uint64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, err
		}
		if seq != prev+1 {
			t.Errorf("imago.commands: seq %d follows %d: a gap (or disorder) in the log", seq, prev)
		}
		prev = seq
		ids[seq] = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if prev != p.seq {
		t.Errorf("imago.commands ends at seq %d, the server recovered %d", prev, p.seq)
	}
	return ids, nil
}

// compare checks the ledger against the log of a restarted server: each
// acknowledged seq holds the command acknowledged for it. It returns the
// acknowledged commands that are gone (absent, or their seq holds another
// command: a seq reused), sorted by seq.
func (lg ledger) compare(ids map[uint64]string) (lost, reused []ack) {
	for _, a := range lg {
		id, ok := ids[a.seq]
		switch {
		case !ok:
			lost = append(lost, a)
		case id != a.id:
			reused = append(reused, a)
		}
	}
	bySeq := func(s []ack) { sort.Slice(s, func(i, j int) bool { return s[i].seq < s[j].seq }) }
	bySeq(lost)
	bySeq(reused)
	return lost, reused
}

// verifyCopy opens a copy of a data directory in-process, as a start would
// (newest usable checkpoint, then the log), and checks the invariant: the
// recovered image equals a replay of the whole log. It returns the
// recovered seq. The copy keeps the checks from changing what the next
// start of the original finds.
func verifyCopy(t *testing.T, dir string) uint64 {
	t.Helper()
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", dir, cp).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", dir, err, out)
	}
	db, err := imago.Open(cp, shop.App(), imago.Options{})
	if err != nil {
		t.Fatalf("open a copy of the data in-process: %v", err)
	}
	defer db.Close()
	if err := db.VerifyReplay(); err != nil {
		t.Errorf("the recovered image is not the replay of the log: %v", err)
	}
	return db.View().Seq
}

// copyTree copies a directory (cp -a).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
}

// walFiles are the Pebble WAL files of a data directory, oldest first.
func walFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(imago.LogDir(dir), "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files) // zero-padded numbers
	return files
}
