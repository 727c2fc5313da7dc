package torture

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
)

// TestDiskFull fills the file system under a data directory: a tmpfs of its
// own, so that nothing else fills up (root is needed to mount it: without,
// the check skips, saying so). Promised (README "How a write works",
// wal.DiskFullError):
//   - at run time, writes fail-stop cleanly: 503 not_accepting_writes, no
//     hang, /readyz 503, nothing acknowledged lost; after space is freed a
//     restart recovers every acknowledged command;
//   - at start, a disk too full to open the log fails the start at once
//     with a message naming the disk; after space is freed it starts.
func TestDiskFull(t *testing.T) {
	need(t)
	t.Run("at-run-time", func(t *testing.T) {
		mnt := tmpfs(t, "192m")
		dir := filepath.Join(mnt, "data")
		p := start(t, dir, "--durability", "always")
		lg := ledger{}
		lg.add(t, setup(t, p.httpAddr, "s"))
		l := startLoad(p.httpAddr, "full", sc.writers, 5)
		for deadline := time.Now().Add(time.Minute); l.count() < 500 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		before := l.count()
		filler := fill(t, mnt, 0)
		failed := false
		for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			l.mu.Lock()
			failed = l.statuses[503] > 0 || l.statuses[0] > 0
			l.mu.Unlock()
			if failed {
				break
			}
		}
		time.Sleep(500 * time.Millisecond) // let the writers meet the refusal
		acks := l.stop()
		lg.add(t, acks)
		t.Logf("disk filled after %d commands; %d more acknowledged on the full disk; answers other than 200/422: %v (0: no answer)",
			before, len(acks)-before, l.statuses)
		if !failed {
			t.Fatalf("3 minutes of writes on a full disk and none failed (%d acknowledged)", len(acks)-before)
		}
		if l.statuses[0] > 0 {
			t.Errorf("%d writes got no answer within %v on a full disk: a write must fail with 503, not hang", l.statuses[0], client.Timeout)
		}
		if status := get(t, p.httpAddr, "/readyz"); status != 503 {
			t.Errorf("/readyz answers %d on a full disk after a failed write, want 503 (fail-stop)", status)
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		// Fail-stop: still refused after space is freed, until a restart.
		name, body := encode(setupProbe())
		if _, status, _, err := post(p.httpAddr, name, "probe", body); err != nil || status != 503 {
			t.Errorf("after a failed write and space freed, a write answers %d (%v), want 503 until a restart", status, err)
		}
		p.signal(t, syscall.SIGTERM)
		copySeq := verifyCopy(t, dir)
		p = start(t, dir, "--durability", "always")
		lost, reused := lg.compare(logIDs(t, p))
		if len(lost)+len(reused) > 0 {
			t.Errorf("after the full disk %d acknowledged commands are gone (first %s)", len(lost)+len(reused), first(append(lost, reused...)))
		}
		if p.seq != copySeq {
			t.Errorf("the server recovered seq %d, an in-process open of the same files %d", p.seq, copySeq)
		}
		t.Logf("restart after freeing space: seq %d, %d acknowledged, lost %d", p.seq, len(lg), len(lost)+len(reused))
	})
	t.Run("at-start", func(t *testing.T) {
		mnt := tmpfs(t, "192m")
		dir := filepath.Join(mnt, "data")
		p := start(t, dir, "--durability", "always")
		lg := ledger{}
		lg.add(t, setup(t, p.httpAddr, "s"))
		l := startLoad(p.httpAddr, "start", sc.writers, 6)
		for deadline := time.Now().Add(time.Minute); l.count() < 1000 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		lg.add(t, l.stop())
		p.kill(t)
		filler := fill(t, mnt, 1<<20)
		began := time.Now()
		p, out, err := tryStart(t, dir, "--durability", "always")
		if p != nil {
			t.Fatalf("imago started on a full disk (%s free)", "1 MiB")
		}
		t.Logf("start on a full disk refused after %v: %s", time.Since(began).Round(time.Millisecond), lastLines(out, 1))
		if !strings.Contains(out, "full") || !strings.Contains(out, mnt) {
			t.Errorf("the start on a full disk failed (%v) without naming the disk (%s) and that it is full:\n%s", err, mnt, out)
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		p = start(t, dir, "--durability", "always")
		if lost, reused := lg.compare(logIDs(t, p)); len(lost)+len(reused) > 0 {
			t.Errorf("after the full disk %d acknowledged commands are gone (first %s)", len(lost)+len(reused), first(append(lost, reused...)))
		}
	})
}

// tmpfs mounts a tmpfs of size on a new temporary directory, unmounted at
// the end of the test (after the processes on it were killed: cleanups
// run last registered first).
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("a full disk needs a small file system of its own, and mounting a tmpfs is not permitted here (run as root): %v: %s",
			err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s; unmounting lazily", mnt, err, out)
			exec.Command("umount", "-l", mnt).Run()
		}
	})
	return mnt
}

// fill writes a file on the file system of mnt until at most leave bytes
// are free, and returns its path.
func fill(t *testing.T, mnt string, leave int64) string {
	t.Helper()
	path := filepath.Join(mnt, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 1} {
		buf := make([]byte, chunk)
		for {
			var st syscall.Statfs_t
			if err := syscall.Statfs(mnt, &st); err != nil {
				t.Fatal(err)
			}
			if int64(st.Bavail)*st.Bsize-int64(chunk) < leave {
				break
			}
			if _, err := f.Write(buf); err != nil {
				if errors.Is(err, syscall.ENOSPC) {
					break
				}
				t.Fatal(err)
			}
		}
	}
	var st syscall.Statfs_t
	syscall.Statfs(mnt, &st)
	t.Logf("filled %s: %d bytes free", mnt, int64(st.Bavail)*st.Bsize)
	return path
}

// get is the status of a GET.
func get(t *testing.T, addr, path string) int {
	t.Helper()
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// setupProbe is a command that applies to the workload's catalogue.
func setupProbe() commands.Command { return &shop.Restock{SKU: workload.SKU(0), Quantity: 1} }
