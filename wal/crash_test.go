package wal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The crash tests run a child process (this test binary, re-executed with
// crashChildEnv naming what to do) that writes to a log and reports on
// stdout, one line each, the seqs it got acknowledged; the parent kills it
// with SIGKILL, reopens the log and checks that every reported seq is there.
const crashChildEnv = "WAL_CRASH_CHILD"

// TestMain runs the child's part when the binary was started as one.
func TestMain(m *testing.M) {
	if what := os.Getenv(crashChildEnv); what != "" {
		crashChild(what, os.Getenv("WAL_CRASH_DIR"))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild appends batches of 1 to 16 entries without sync until killed,
// printing the last seq of each acknowledged batch; "idle" appends for
// 400ms, then waits to be killed.
func crashChild(what, dir string) {
	o := Options{}
	if what == "interval" || what == "idle" {
		o.SyncInterval = time.Second
	}
	start := time.Now()
	l, err := Open(dir, o)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		if what == "idle" && time.Since(start) > 400*time.Millisecond {
			select {}
		}
		n := 1 + i%16
		next := l.LastSeq() + 1
		if err := l.Append(entries(int(next), n), false); err != nil {
			fmt.Fprintln(out, "error", err)
			out.Flush()
			return
		}
		fmt.Fprintln(out, next+uint64(n)-1)
		out.Flush()
	}
}

// runAndKill starts a child doing what on dir, lets it run for d, kills it
// with SIGKILL and returns the highest seq it reported acknowledged.
func runAndKill(t *testing.T, what, dir string, d time.Duration) uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+what, "WAL_CRASH_DIR="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(chan uint64)
	first := make(chan struct{}) // the child acknowledged its first append
	go func() {
		var top uint64
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			seq, err := strconv.ParseUint(sc.Text(), 10, 64)
			if err != nil {
				t.Errorf("child: %s", sc.Text())
				continue
			}
			if top == 0 {
				close(first)
			}
			top = seq
		}
		acked <- top
	}()
	// The kill comes d after the child is writing: on a loaded machine its
	// start alone may take longer than d.
	select {
	case <-first:
	case <-time.After(60 * time.Second):
	}
	time.Sleep(d)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	top := <-acked // read to the end: what the child printed before it died
	cmd.Wait()
	return top
}

// TestCrashKeepsAcknowledged: an Append without sync that returned has its
// entries in the OS: a process kill loses none of them. Before the write
// through, Pebble held them in its WAL buffer (the attack lost 8-208 per kill).
func TestCrashKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, what := range []string{"interval", "always"} {
		t.Run(what, func(t *testing.T) {
			dir := t.TempDir()
			for cycle := range 4 {
				acked := runAndKill(t, what, dir, time.Duration(150+100*cycle)*time.Millisecond)
				l, err := Open(dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				last := l.LastSeq()
				t.Logf("cycle %d: acknowledged up to %d, the log holds %d", cycle, acked, last)
				if acked == 0 {
					t.Errorf("cycle %d: the child acknowledged nothing", cycle)
				}
				if last < acked {
					t.Errorf("cycle %d: entries %d..%d were acknowledged and are lost", cycle, last+1, acked)
				}
				got := readAll(t, l, 1, last)
				for i, e := range got {
					if e.Seq != uint64(i+1) || string(e.Data) != fmt.Sprintf("entry %d", e.Seq) {
						t.Fatalf("entry %d: %q", e.Seq, e.Data)
					}
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
