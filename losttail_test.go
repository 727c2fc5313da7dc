package imago_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/offline"
	"github.com/imagodb/imago/reactors"
)

// setKeys submits set commands for keys from..to (values name the round).
func setKeys(t *testing.T, db *imago.DB, from, to int, round string) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := db.Submit(context.Background(), &dictionary.Set{Key: fmt.Sprint("k", i), Value: round}); err != nil {
			t.Fatal(err)
		}
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	os.RemoveAll(to)
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

// TestLostLogTail: a log that lost entries it once synced (its directory
// restored from an older copy, a truncated WAL file) is never served as if
// nothing happened: the start refuses, naming the missing seqs and the
// repair; the repair sets aside the checkpoints of the lost history, and
// the new commands never mix with it.
func TestLostLogTail(t *testing.T) {
	for _, c := range []struct {
		name     string
		withMark bool // the old copy's high-water mark comes back too
		evidence string
	}{
		{"log restored, mark current", false, "high-water mark"},
		{"log and mark restored, checkpoint newer", true, "checkpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			backup := t.TempDir()
			app := dictionary.App()
			db := open(t, dir, app)
			setKeys(t, db, 1, 5, "old")
			db.Close()
			copyTree(t, imago.LogDir(dir), filepath.Join(backup, "log"))
			copyTree(t, imago.LogDir(dir)+".mark", filepath.Join(backup, "log.mark"))
			db = open(t, dir, app)
			setKeys(t, db, 6, 8, "lost")
			if _, err := db.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			setKeys(t, db, 9, 10, "lost")
			db.Close()

			copyTree(t, filepath.Join(backup, "log"), imago.LogDir(dir))
			if c.withMark {
				copyTree(t, filepath.Join(backup, "log.mark"), imago.LogDir(dir)+".mark")
			}
			_, err := imago.Open(dir, app, imago.Options{})
			var lost *imago.LostEntriesError
			if !errors.As(err, &lost) || lost.Last != 5 || !strings.Contains(err.Error(), c.evidence) ||
				!strings.Contains(err.Error(), "imago log accept-loss --data "+dir) {
				t.Fatalf("start on the lost tail: %v; want a refusal at seq 5 naming the %s and the repair", err, c.evidence)
			}
			repair, moved, err := offline.AcceptLoss(dir, dictionary.App())
			if err != nil || (!c.withMark && (repair.From != 6 || repair.To != 10)) || len(moved) != 1 {
				t.Fatalf("accept-loss: %+v, moved %v, %v", repair, moved, err)
			}
			entries, _ := os.ReadDir(imago.CheckpointDir(dir))
			for _, e := range entries {
				if !e.IsDir() {
					t.Fatalf("checkpoint %s of the lost history left in place", e.Name())
				}
			}
			db = open(t, dir, app)
			if db.Restored().Seq != 0 || db.View().Seq != 5 {
				t.Fatalf("after the repair: restored from %d at seq %d; want the log alone, at seq 5", db.Restored().Seq, db.View().Seq)
			}
			setKeys(t, db, 6, 8, "new")
			if err := db.VerifyReplay(); err != nil {
				t.Fatal(err)
			}
			db.Close()
			db = open(t, dir, app)
			defer db.Close()
			e, _, _ := dictionary.Entries.Get(db.View().Snapshot, "k7")
			gone, _, _ := dictionary.Entries.Get(db.View().Snapshot, "k10")
			if e.Value != "new" || gone.Key != "" {
				t.Fatalf("k7=%q k10=%+v: the lost history came back", e.Value, gone)
			}
		})
	}
}

// TestCheckpointOfAnotherHistory: a checkpoint whose seq the log reaches
// but whose last entry is not the log's (another history: a log replaced
// under it) is skipped, never loaded.
func TestCheckpointOfAnotherHistory(t *testing.T) {
	app := dictionary.App()
	a, b := t.TempDir(), t.TempDir()
	for _, c := range []struct{ dir, round string }{{a, "a"}, {b, "b"}} {
		db := open(t, c.dir, app)
		setKeys(t, db, 1, 4, c.round)
		if _, err := db.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	// b's log with a's checkpoint at the same seq.
	os.RemoveAll(imago.CheckpointDir(b))
	copyTree(t, imago.CheckpointDir(a), imago.CheckpointDir(b))
	db := open(t, b, app)
	defer db.Close()
	if db.Restored().Seq != 0 {
		t.Fatalf("loaded the checkpoint of another history (seq %d)", db.Restored().Seq)
	}
	if e, _, _ := dictionary.Entries.Get(db.View().Snapshot, "k1"); e.Value != "b" {
		t.Fatalf("k1=%q, want b's", e.Value)
	}
}

// TestReactorCursorPastTheEnd: a reactor's cursor past the log's end (it
// got only durable commands) is proof of a lost tail in durability always.
func TestReactorCursorPastTheEnd(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, dictionary.App())
	setKeys(t, db, 1, 3, "x")
	if err := db.Log().SetCursor(reactors.CursorName("mailer"), 7); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := reactors.Reactor{Name: "mailer", Commands: []string{"set"}, React: func(context.Context, *reactors.Delivery) error { return nil }}
	_, err := imago.Open(dir, dictionary.App(), imago.Options{Reactors: []reactors.Reactor{r}})
	var lost *imago.LostEntriesError
	if !errors.As(err, &lost) || lost.Last != 3 || lost.Upto != 7 || !strings.Contains(err.Error(), "reactor mailer") {
		t.Fatalf("got %v; want a refusal: seqs 4..7 lost, by the cursor of reactor mailer", err)
	}
}
