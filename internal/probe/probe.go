// Package probe holds what a benchmark harness reads from a server it
// started: a loopback address free to listen on, the Prometheus metrics of a
// running Imago with the write path's means over a run, a CPU profile of the
// measured part of a run, and the machine's load average to print beside a
// figure.
//
// Guarantees:
//   - nothing here changes the server it reads;
//   - a metrics line that is not `name value` is skipped, never fatal.
package probe

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// FreeAddr returns a loopback address whose port is free at the moment, for
// a server the harness starts (tests and benchmarks never use fixed ports).
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Metrics reads the Prometheus text at url as name (with labels) -> value.
func Metrics(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s answered %s", url, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	return m, sc.Err()
}

// WriterFigures are the write path's means between two readings of Metrics:
// where a command's time goes.
type WriterFigures struct {
	Batches          float64 // log appends (fsyncs in durability always)
	CommandsPerBatch float64
	Apply            time.Duration // per batch
	Append           time.Duration // per batch, fsync included
}

// Writer returns the write path's means between the metrics before and
// after a run.
func Writer(before, after map[string]float64) WriterFigures {
	delta := func(name string) float64 { return after[name] - before[name] }
	mean := func(name string) float64 { return delta(name+"_sum") / max(1, delta(name+"_count")) }
	seconds := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	return WriterFigures{
		Batches:          delta("imago_batch_commands_count"),
		CommandsPerBatch: mean("imago_batch_commands"),
		Apply:            seconds(mean("imago_apply_seconds")),
		Append:           seconds(mean("imago_log_append_seconds")),
	}
}

// String prints the figures on one line.
func (f WriterFigures) String() string {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return fmt.Sprintf("%.0f batches, %.1f commands per batch; per batch apply %.3f ms, log append and fsync %.3f ms",
		f.Batches, f.CommandsPerBatch, ms(f.Apply), ms(f.Append))
}

// CPUProfile fetches, in the background, a CPU profile of seconds (at least
// one) from the pprof endpoint at base, starting after delay, into file; the
// returned func waits for it.
func CPUProfile(base string, delay time.Duration, seconds int, file string) func() error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(delay)
		done <- fetchTo(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, max(1, seconds)), file)
	}()
	return func() error { return <-done }
}

func fetchTo(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s answered %s", url, resp.Status)
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := bufio.NewReader(resp.Body).WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// LoadAverage is the machine's load average over 1, 5 and 15 minutes, or
// "?" where /proc/loadavg cannot be read.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
