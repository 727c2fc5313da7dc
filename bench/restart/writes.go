package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// window is the write throughput over one stretch of the writes phase,
// with what the process and the machine did meanwhile: a drop the process
// caused itself shows in its own CPU and collector time, one the rest of
// the machine caused in the machine's busy share.
type window struct {
	Name        string
	MS          float64
	Rate        float64 // commands/s
	CPU         float64 // the process's CPU seconds per second
	GCCPU       float64 // of which the collector's (runtime/metrics estimate)
	GCs         uint64  // collections completed
	AllocMB     float64 // heap allocated meanwhile
	Batches     int64   // the writer's
	ApplyMS     float64 // per batch: applying it to the image
	LogMS       float64 // per batch: logging it (an fsync)
	MachineBusy float64 // the machine's busy share of all its cores (/proc/stat)
}

// writes runs the shop's write benchmark (orders of three lines from 64
// clients) and measures it for d, then while a checkpoint is written, then
// for d again: the drop is the checkpoint's rate against the mean of the
// two around it, so that a change in the machine's load during the phase
// (it is shared) weighs less.
//
// Each window starts after a collection: a collection marks the whole
// image (on 453k rows it took 0.38 of the 0.47 cores the process had
// during a 13.5 s checkpoint window, and writes dropped 52% in that run,
// 3.6% in another without one), whether or not a checkpoint is being
// written, and the checkpoint itself allocates little (11 MB for 957k
// rows), so a window that happens to hold a collection measures the
// collector, not the checkpoint. The windows show the collections they
// held; the serving policy (GOGC 400) leaves none in a window this long.
func writes(db *imago.DB, obs *batchObserver, d time.Duration) ([]window, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, found, _ := shop.Customers.Get(db.View().Snapshot, "bench"); !found {
		for _, c := range workload.BenchSetup() {
			if _, err := db.Submit(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	var done atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	next.Store(time.Now().UnixNano()) // order ids unique across runs on one data dir
	failed := make(chan error, 1)
	for range 64 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := db.Submit(ctx, workload.BenchOrder(next.Add(1))); err != nil && ctx.Err() == nil {
					select {
					case failed <- err:
					default:
					}
					return
				}
				done.Add(1)
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	measure := func(name string, f func() error) (window, error) {
		runtime.GC()
		n0, s0, b0 := done.Load(), sample(), obs.read()
		t0 := time.Now()
		err := f()
		took := time.Since(t0)
		n1, s1, b1 := done.Load(), sample(), obs.read()
		sec := took.Seconds()
		batches := max(b1.batches-b0.batches, 1)
		return window{Batches: b1.batches - b0.batches,
			ApplyMS: ms(time.Duration(b1.apply-b0.apply)) / float64(batches), LogMS: ms(time.Duration(b1.log-b0.log)) / float64(batches), Name: name, MS: ms(took), Rate: float64(n1-n0) / sec,
			CPU: (s1.cpu - s0.cpu).Seconds() / sec, GCCPU: (s1.gcCPU - s0.gcCPU) / sec, GCs: s1.gcs - s0.gcs, AllocMB: float64(s1.alloc-s0.alloc) / (1 << 20),
			MachineBusy: s1.machine.busySince(s0.machine)}, err
	}
	sleep := func() error { time.Sleep(d); return nil }
	time.Sleep(time.Second) // warm up
	var out []window
	for _, w := range []struct {
		name string
		f    func() error
	}{{"before", sleep}, {"checkpoint", func() error { _, err := db.Checkpoint(); return err }}, {"after", sleep}} {
		win, err := measure(w.name, w.f)
		if err != nil {
			return nil, err
		}
		out = append(out, win)
	}
	select {
	case err := <-failed:
		return nil, err
	default:
	}
	return out, nil
}

// reportWrites prints the windows of the writes phase and the drop.
func reportWrites(w io.Writer, windows []window) {
	fmt.Fprintln(w, "writes (place_order, 64 clients):")
	for _, win := range windows {
		fmt.Fprintf(w, "  %-10s %6.0f ms %7.0f commands/s   %d batches: apply %.2f ms, log %.2f ms each   process CPU %.2f cores (collector %.2f, %d GCs, %.0f MB allocated), machine %.0f%% busy\n",
			win.Name, win.MS, win.Rate, win.Batches, win.ApplyMS, win.LogMS, win.CPU, win.GCCPU, win.GCs, win.AllocMB, 100*win.MachineBusy)
	}
	if len(windows) == 3 {
		around := (windows[0].Rate + windows[2].Rate) / 2
		fmt.Fprintf(w, "writes while checkpointing: %.1f%% drop against the mean before and after (%.1f%% against before)   (target < 20%%)\n",
			100*(1-windows[1].Rate/around), 100*(1-windows[1].Rate/windows[0].Rate))
	}
}

// usage is the process's CPU and collector time and the machine's CPU
// counters at one moment.
type usage struct {
	cpu     time.Duration
	gcCPU   float64
	gcs     uint64
	alloc   uint64
	machine machineTimes
}

func sample() usage {
	ms := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(ms)
	return usage{cpu: cpuTime(), gcCPU: ms[0].Value.Float64(), gcs: ms[1].Value.Uint64(), alloc: ms[2].Value.Uint64(), machine: readMachine()}
}

// machineTimes are /proc/stat's busy and total jiffies of all CPUs.
type machineTimes struct{ busy, total uint64 }

func readMachine() machineTimes {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return machineTimes{}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return machineTimes{}
	}
	var t machineTimes
	for i, field := range strings.Fields(sc.Text())[1:] {
		n, _ := strconv.ParseUint(field, 10, 64)
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t
}

func (t machineTimes) busySince(from machineTimes) float64 {
	if t.total == from.total {
		return 0
	}
	return float64(t.busy-from.busy) / float64(t.total-from.total)
}

// batchObserver sums the writer's batches and the time they took
// (writer.Observer).
type batchObserver struct{ batches, apply, log atomic.Int64 }

func (*batchObserver) Accepted(string) {}
func (*batchObserver) Refused(string)  {}
func (o *batchObserver) Batch(_ int, apply, log time.Duration) {
	o.batches.Add(1)
	o.apply.Add(int64(apply))
	o.log.Add(int64(log))
}

type batchTotals struct{ batches, apply, log int64 }

func (o *batchObserver) read() batchTotals {
	return batchTotals{o.batches.Load(), o.apply.Load(), o.log.Load()}
}
