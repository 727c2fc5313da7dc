package imago_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/writer"
)

// loadShop runs writers concurrent shop writers of n commands each on db.
func loadShop(t *testing.T, db *imago.DB, writers, n int, during func()) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			g := workload.New(fmt.Sprint("w", w), uint64(w), 50, 30)
			for range n {
				db.Submit(context.Background(), g.Next()) // refusals are part of the mix
			}
		})
	}
	if during != nil {
		during()
	}
	wg.Wait()
}

// TestCheckpointWhileWriting: checkpoints taken while writers run, then a
// restart loads the newest and replays only the log after it, and the image
// equals a replay of the whole log.
func TestCheckpointWhileWriting(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, shop.App())
	submitAll(t, db, workload.Setup(50, 30))
	var last imago.CheckpointInfo
	loadShop(t, db, 6, 400, func() {
		for i := 0; i < 3; i++ {
			info, err := db.Checkpoint()
			if err != nil {
				t.Error(err)
				return
			}
			last = info
		}
	})
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	total := db.View().Seq
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if last.Seq == 0 || last.Seq > total || last.Rows == 0 {
		t.Fatalf("last checkpoint %+v; %d commands", last, total)
	}

	db = open(t, dir, shop.App())
	defer db.Close()
	if r := db.Restored(); r.Seq != last.Seq || r.Rows != last.Rows {
		t.Errorf("restored %+v, want the last checkpoint %+v", r, last)
	}
	if got := db.Recovery().Commands; got != total-last.Seq {
		t.Errorf("replayed %d commands after the checkpoint, want %d", got, total-last.Seq)
	}
	if db.View().Seq != total {
		t.Errorf("recovered seq %d, want %d", db.View().Seq, total)
	}
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
	// And it goes on: new commands after a restore continue the log.
	loadShop(t, db, 2, 50, nil)
	if err := db.VerifyReplay(); err != nil {
		t.Fatal(err)
	}
}

// TestBadCheckpointsAreSkipped: a damaged, a truncated and a foreign
// checkpoint are each skipped with a warning naming the file and the reason,
// and the next older one (or the log alone) is used.
func TestBadCheckpointsAreSkipped(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, shop.App())
	submitAll(t, db, workload.Setup(20, 10))
	older, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	loadShop(t, db, 2, 100, nil)
	newer, err := db.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	loadShop(t, db, 2, 50, nil)
	total := db.View().Seq
	db.Close()
	pristine, _ := os.ReadFile(newer.Path)

	for _, c := range []struct {
		name    string
		damage  func([]byte) []byte
		app     *imago.App
		reason  string
		restore uint64
	}{
		{"intact", func(b []byte) []byte { return b }, shop.App(), "", newer.Seq},
		{"flipped byte", func(b []byte) []byte { b = bytes.Clone(b); b[len(b)/2] ^= 0x10; return b }, shop.App(), "checksum mismatch", older.Seq},
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }, shop.App(), "no end marker", older.Seq},
		{"empty", func(b []byte) []byte { return nil }, shop.App(), "truncated: 0 bytes", older.Seq},
		{"projection changed", func(b []byte) []byte { return b }, bumped(shop.App()), "another projection", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(newer.Path, c.damage(pristine), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			db, err := imago.Open(dir, c.app, imago.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Restored().Seq != c.restore || db.View().Seq != total {
				t.Errorf("restored seq %d, recovered %d; want %d and %d", db.Restored().Seq, db.View().Seq, c.restore, total)
			}
			if c.reason != "" && (!strings.Contains(logs.String(), "checkpoint skipped") ||
				!strings.Contains(logs.String(), checkpoint.Name(newer.Seq)) || !strings.Contains(logs.String(), c.reason)) {
				t.Errorf("log:\n%s\nwant a warning naming %s and %q", logs.String(), checkpoint.Name(newer.Seq), c.reason)
			}
			if err := db.VerifyReplay(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// bumped is app with its projection version raised: what an author does
// when Apply changes meaning.
func bumped(app *imago.App) *imago.App {
	app.ProjectionVersion++
	return app
}

func TestFingerprint(t *testing.T) {
	base := shop.App().Fingerprint()
	if base != shop.App().Fingerprint() {
		t.Fatal("the fingerprint is not stable")
	}
	renamed := shop.App()
	renamed.Commands = append([]commands.Definition(nil), renamed.Commands...)
	renamed.Commands[0] = commands.Define[shop.RegisterCustomer]("register_client", 1)
	reversioned := shop.App()
	reversioned.Commands = append([]commands.Definition(nil), reversioned.Commands...)
	reversioned.Commands[0] = commands.Define[shop.RegisterCustomer]("register_customer", 2)
	fewerTables := shop.App()
	fewerTables.Tables = fewerTables.Tables[1:]
	for name, app := range map[string]*imago.App{
		"projection version": bumped(shop.App()), "command renamed": renamed,
		"command version": reversioned, "table removed": fewerTables,
	} {
		if app.Fingerprint() == base {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}

// TestCheckpointsKeep: older files are removed beyond the number kept, and
// the newest kept one loads.
func TestCheckpointsKeep(t *testing.T) {
	dir := t.TempDir()
	db, err := imago.Open(dir, shop.App(), imago.Options{CheckpointsKeep: 2})
	if err != nil {
		t.Fatal(err)
	}
	submitAll(t, db, workload.Setup(5, 5))
	var seqs []uint64
	for i := range 4 {
		submitAll(t, db, []commands.Command{&shop.Restock{SKU: workload.SKU(0), Quantity: int64(i + 1)}})
		info, err := db.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, info.Seq)
	}
	db.Close()
	files, err := checkpoint.List(imago.CheckpointDir(dir))
	if err != nil || len(files) != 2 || files[0].Seq != seqs[3] || files[1].Seq != seqs[2] {
		t.Fatalf("files %+v (%v); want the checkpoints at %d and %d", files, err, seqs[3], seqs[2])
	}
	if _, err := checkpoint.Verify(files[0].Path, shop.App().Fingerprint()); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointTriggers: a checkpoint is written after a number of commands
// or a growth of the log, and not before.
func TestCheckpointTriggers(t *testing.T) {
	for _, c := range []struct {
		name string
		opts imago.Options
		want bool
	}{
		{"by commands", imago.Options{CheckpointEvery: 100}, true},
		{"by log bytes", imago.Options{CheckpointEveryBytes: 16 << 10}, true},
		{"neither reached", imago.Options{CheckpointEvery: 1 << 40, CheckpointEveryBytes: 1 << 40}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.opts.Durability = writer.Durability{Mode: writer.None}
			db, err := imago.Open(dir, shop.App(), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			submitAll(t, db, workload.Setup(100, 100)) // 200 commands, ~20 KB of log
			// The trigger is checked every second: wait for up to 10 ticks,
			// or 2 when none should come.
			deadline := time.Now().Add(10 * time.Second)
			if !c.want {
				deadline = time.Now().Add(2500 * time.Millisecond)
			}
			for db.LastCheckpoint() == nil && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if got := db.LastCheckpoint() != nil; got != c.want {
				t.Fatalf("checkpoint written: %v, want %v (log grew by %d bytes)", got, c.want, db.Log().AppendedBytes())
			}
		})
	}
}
