// Command restart measures how fast the shop comes back: it generates a log
// of shop commands (the demo plan, one command at a time), then measures, each
// in a fresh process so that memory figures are its own:
//
//   - replay: opening the data directory with no checkpoint (commands/s);
//   - checkpoint: writing one of the replayed image (rows/s, bytes per row);
//   - restore: opening it again from that checkpoint (rows/s, total restart
//     time, resident memory and heap per row);
//   - writes: the shop's write throughput before and while a checkpoint is
//     written (the drop).
//
// The default size gives about 10 million rows across the shop's tables:
//
//	go run ./bench/restart                  # or: make restart-bench
//	go run ./bench/restart -orders 100000   # a quick run
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/demo"
	"github.com/imagodb/imago/gcpolicy"
	"github.com/imagodb/imago/wal"
	"github.com/imagodb/imago/writer"
)

func main() {
	var o options
	flag.StringVar(&o.data, "data", "", "data directory (default: a temporary one, removed at the end); an existing log is reused")
	flag.IntVar(&o.plan.Customers, "customers", 500_000, "customers in the plan")
	flag.IntVar(&o.plan.Products, "products", 5_000, "products in the plan")
	flag.IntVar(&o.plan.Orders, "orders", 2_700_000, "orders in the plan (about 3.5 rows each, with their lines)")
	flag.Uint64Var(&o.plan.Seed, "seed", 1, "plan seed")
	flag.StringVar(&o.phase, "phase", "", "internal: the phase a child process runs")
	flag.DurationVar(&o.writeFor, "write-for", 5*time.Second, "how long the write throughput is measured without a checkpoint")
	flag.StringVar(&o.profile, "profile", "", "write CPU and heap profiles of each phase to this directory")
	flag.StringVar(&o.durability, "durability", "always", "durability of the write phase: always, interval=<duration> or none")
	flag.Float64Var(&o.share, "checkpoint-share", 0, "imago.Options.CheckpointShare of the write phase (0: Imago's default)")
	flag.IntVar(&o.pairs, "pairs", 3, "rounds of the floor phase: a checkpoint load, then go-memdb alone inserting the same index entries")
	phases := flag.String("phases", "replay,restore,floor,writes", "the phases to run (restore, floor and writes need the checkpoint replay writes, kept in -data)")
	flag.Parse()
	o.phases = strings.Split(*phases, ",")
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "restart:", err)
		os.Exit(1)
	}
}

type options struct {
	data       string
	plan       demo.Options
	phase      string
	writeFor   time.Duration
	durability string
	share      float64
	profile    string
	phases     []string
	pairs      int
}

func run(o options) error {
	if o.phase != "" {
		return child(o)
	}
	if o.data == "" {
		dir, err := os.MkdirTemp("", "imago-restart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.data = dir
	}
	if err := generate(o); err != nil {
		return err
	}
	if slices.Contains(o.phases, "replay") {
		if err := os.RemoveAll(imago.CheckpointDir(o.data)); err != nil {
			return err
		}
	}
	results := map[string][]result{}
	for _, phase := range []string{"replay", "restore", "floor", "writes"} {
		if !slices.Contains(o.phases, phase) {
			continue
		}
		r, err := spawn(o, phase)
		if err != nil {
			return fmt.Errorf("phase %s: %w", phase, err)
		}
		results[phase] = append(results[phase], r)
	}
	report(results)
	return nil
}

// generate writes the plan's commands to the log of o.data, unless it has
// a log already.
func generate(o options) error {
	if _, err := os.Stat(imago.LogDir(o.data)); err == nil {
		fmt.Printf("reusing the log in %s\n", o.data)
		return nil
	}
	start := time.Now()
	log, err := wal.Open(imago.LogDir(o.data), wal.Options{})
	if err != nil {
		return err
	}
	registry, err := commands.NewRegistry(shop.App().Commands...)
	if err != nil {
		return err
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []wal.Entry
	var seq uint64
	for cmd := range demo.New(o.plan).Serial() {
		seq++
		value, err := encodeEnvelope(registry, cmd, seq, clock.Add(time.Duration(seq)*time.Millisecond))
		if err != nil {
			return err
		}
		if batch = append(batch, wal.Entry{Seq: seq, Data: value}); len(batch) == 4096 {
			if err := log.Append(batch, false); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := log.Append(batch, true); err != nil {
		return err
	}
	if err := log.Close(); err != nil {
		return err
	}
	fmt.Printf("generated %d commands in %.1fs\n", seq, time.Since(start).Seconds())
	return nil
}

func encodeEnvelope(registry *commands.Registry, cmd commands.Command, seq uint64, at time.Time) ([]byte, error) {
	def, err := registry.Of(cmd)
	if err != nil {
		return nil, err
	}
	payload, err := envelope.EncodePayload(cmd)
	if err != nil {
		return nil, err
	}
	return envelope.Encode(&commands.Envelope{Seq: seq, ID: "gen-" + strconv.FormatUint(seq, 10),
		Name: def.Name, Version: def.Version, Time: at, Actor: "bench", Payload: payload})
}

// result is what a child phase reports, as one JSON line.
type result struct {
	OpenMS        float64 // imago.Open: checkpoint load and replay
	Commands      uint64  // replayed
	Rows          int64   // in the image
	CheckpointRow int64   // rows loaded from a checkpoint
	LoadMS        float64 // of the checkpoint
	RSS           int64   // bytes, after open and a GC
	Heap          int64   // bytes in use, after a GC
	WriteMS       float64 // checkpoint written
	FileBytes     int64
	FloorEntries  int64    // index entries of the image
	Rounds        []round  // checkpoint loads, each with the floor (floor.go)
	Windows       []window // of the writes phase (writes.go)
}

func spawn(o options, phase string) (result, error) {
	exe, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(exe, "-data", o.data, "-phase", phase, "-pairs", strconv.Itoa(o.pairs), "-write-for", o.writeFor.String(), "-durability", o.durability,
		"-checkpoint-share", strconv.FormatFloat(o.share, 'g', -1, 64), "-profile", o.profile)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, err
	}
	var r result
	err = json.Unmarshal(out, &r)
	return r, err
}

func child(o options) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	durability, err := writer.ParseDurability(o.durability)
	if err != nil {
		return err
	}
	// Profiles: <phase>-open.cpu.pprof of imago.Open (the replay or the
	// restore), <phase>.cpu.pprof and .heap.pprof of the rest.
	profile := func(name string, heap bool) func() {
		if o.profile == "" {
			return func() {}
		}
		stop, err := startProfile(o.profile, name, heap)
		if err != nil {
			fmt.Fprintln(os.Stderr, "restart: profile:", err)
			return func() {}
		}
		return stop
	}
	if o.phase == "floor" {
		var r result
		if r.CheckpointRow, r.FloorEntries, r.Rounds, err = floorRounds(o.data, o.pairs, o.profile); err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	// The collector's policy of `imago serve` (GOGC 400 under a memory
	// limit, unless the environment sets them).
	defer gcpolicy.Default().Apply()()
	stopOpen := profile(o.phase+"-open", false)
	start := time.Now()
	obs := &batchObserver{}
	db, err := imago.Open(o.data, shop.App(), imago.Options{Durability: durability, Logger: logger, CheckpointShare: o.share, Observer: obs})
	stopOpen()
	if err != nil {
		return err
	}
	defer db.Close()
	defer profile(o.phase, true)()
	var r result
	r.OpenMS = ms(time.Since(start))
	r.Commands = db.Recovery().Commands
	restored := db.Restored()
	r.CheckpointRow, r.LoadMS = restored.Rows, ms(restored.Duration)
	snap := db.View().Snapshot
	for _, t := range snap.Tables() {
		r.Rows += snap.Count(t)
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	r.Heap, r.RSS = int64(m.HeapInuse), rss()
	switch o.phase {
	case "replay":
		start := time.Now()
		info, err := db.Checkpoint()
		if err != nil {
			return err
		}
		r.WriteMS, r.FileBytes = ms(time.Since(start)), info.Bytes
	case "writes":
		if r.Windows, err = writes(db, obs, o.writeFor); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// rss is the resident set size of this process.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func report(results map[string][]result) {
	w := os.Stdout
	rate := func(n float64, msec float64) float64 { return n / (msec / 1000) }
	if replays := results["replay"]; len(replays) > 0 {
		replay := replays[0]
		fmt.Fprintf(w, "\nimage: %d rows\n", replay.Rows)
		fmt.Fprintf(w, "replay (no checkpoint):  %d commands in %.0f ms = %.0f commands/s   (target 100,000)\n",
			replay.Commands, replay.OpenMS, rate(float64(replay.Commands), replay.OpenMS))
		fmt.Fprintf(w, "checkpoint write:        %d rows in %.0f ms = %.0f rows/s, %d bytes = %.1f bytes/row\n",
			replay.Rows, replay.WriteMS, rate(float64(replay.Rows), replay.WriteMS), replay.FileBytes, float64(replay.FileBytes)/float64(replay.Rows))
	}
	if restores := results["restore"]; len(restores) > 0 {
		restore := restores[0]
		fmt.Fprintf(w, "restore:                 %d rows loaded in %.0f ms = %.0f rows/s\n",
			restore.CheckpointRow, restore.LoadMS, rate(float64(restore.CheckpointRow), restore.LoadMS))
		fmt.Fprintf(w, "restart total:           %.0f ms (open: checkpoint + %d commands replayed)\n", restore.OpenMS, restore.Commands)
		fmt.Fprintf(w, "memory after restore:    RSS %s, heap %s = %.0f heap bytes/row\n",
			mib(restore.RSS), mib(restore.Heap), float64(restore.Heap)/float64(restore.Rows))
	}
	if floors := results["floor"]; len(floors) > 0 {
		reportFloor(w, floors[0])
	}
	if writes := results["writes"]; len(writes) > 0 {
		reportWrites(w, writes[0].Windows)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "load average at the end: %s", load)
}

// reportFloor prints the checkpoint loads against go-memdb's floor, each
// round and the median ratio (floor time over load time: restore rate over
// floor rate).
func reportFloor(w io.Writer, f result) {
	fmt.Fprintf(w, "restore against go-memdb's floor (%d rows, %d index entries; rows/s, wall and CPU ms):\n", f.CheckpointRow, f.FloorEntries)
	var wall, cpu []float64
	for _, r := range f.Rounds {
		wall, cpu = append(wall, r.FloorMS/r.LoadMS), append(cpu, r.FloorCPUMS/r.LoadCPUMS)
		fmt.Fprintf(w, "  restore %9.0f rows/s (%6.0f ms, CPU %6.0f)   floor %9.0f rows/s (%6.0f ms, CPU %6.0f)   restore/floor %.2f (CPU %.2f)\n",
			float64(f.CheckpointRow)/r.LoadMS*1000, r.LoadMS, r.LoadCPUMS, float64(f.CheckpointRow)/r.FloorMS*1000, r.FloorMS, r.FloorCPUMS, wall[len(wall)-1], cpu[len(cpu)-1])
	}
	fmt.Fprintf(w, "restore/floor:           median %.2f of %d rounds, CPU time %.2f   (target >= 0.7)\n", median(wall), len(wall), median(cpu))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// startProfile profiles the CPU of the phase until stop, which also writes
// the heap profile if asked.
func startProfile(dir, phase string, heap bool) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cpu, err := os.Create(filepath.Join(dir, phase+".cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(cpu); err != nil {
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		cpu.Close()
		if !heap {
			return
		}
		if heap, err := os.Create(filepath.Join(dir, phase+".heap.pprof")); err == nil {
			pprof.WriteHeapProfile(heap)
			heap.Close()
		}
	}, nil
}
