package writer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
)

// TestFailStopOnSyncError: when the log cannot be synced, the command is
// not acknowledged, nothing unlogged becomes visible, and every later write
// is refused until restart; a restart recovers everything acknowledged.
func TestFailStopOnSyncError(t *testing.T) {
	dir := t.TempDir()
	var failSyncs atomic.Bool
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		isSync := op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo
		if failSyncs.Load() && isSync && strings.HasSuffix(op.Path, ".log") {
			return errors.New("injected: disk gone")
		}
		return nil
	}))
	db, err := imago.Open(dir, dictionary.App(), imago.Options{LogFS: fs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := db.Submit(ctx, &dictionary.Set{Key: "a", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	before := db.View()

	failSyncs.Store(true)
	_, err = db.Submit(ctx, &dictionary.Set{Key: "b", Value: "2"})
	if !errors.Is(err, commands.ErrNotAccepting) {
		t.Fatalf("submit during a sync failure: %v, want ErrNotAccepting", err)
	}
	if db.View() != before {
		t.Fatal("state that was not durable became visible")
	}
	failSyncs.Store(false)
	if _, err := db.Submit(ctx, &dictionary.Set{Key: "c", Value: "3"}); !errors.Is(err, commands.ErrNotAccepting) || db.Err() == nil {
		t.Fatalf("after a failed sync: %v; the database must refuse writes until restart", err)
	}
	db.Close()

	db, err = imago.Open(dir, dictionary.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if e, found, _ := dictionary.Entries.Get(db.View().Snapshot, "a"); !found || e.Value != "1" {
		t.Fatal("the acknowledged command is lost")
	}
	if _, found, _ := dictionary.Entries.Get(db.View().Snapshot, "c"); found {
		t.Fatal("a command refused after the failure was applied")
	}
	if _, err := db.Submit(ctx, &dictionary.Set{Key: "d", Value: "4"}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestFailStopWithBatchesInFlight: the next batch is applied while the
// previous one is being synced; when that sync fails, the batches applied
// after it are refused too and never published, however many were in
// flight, and a restart holds exactly the acknowledged commands.
func TestFailStopWithBatchesInFlight(t *testing.T) {
	dir := t.TempDir()
	var failSyncs atomic.Bool
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		isSync := op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo
		if failSyncs.Load() && isSync && strings.HasSuffix(op.Path, ".log") {
			return errors.New("injected: disk gone")
		}
		return nil
	}))
	db, err := imago.Open(dir, dictionary.App(), imago.Options{LogFS: fs})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const submitters = 64
	var acked sync.Map
	var wg sync.WaitGroup
	for i := range submitters {
		wg.Go(func() {
			for j := 0; ; j++ {
				key := fmt.Sprintf("k%d-%d", i, j)
				if i == 0 && j == 20 {
					failSyncs.Store(true)
				}
				if _, err := db.Submit(ctx, &dictionary.Set{Key: key, Value: "v"}); err != nil {
					if !errors.Is(err, commands.ErrNotAccepting) {
						t.Errorf("%s: %v, want ErrNotAccepting", key, err)
					}
					return
				}
				acked.Store(key, true)
			}
		})
	}
	wg.Wait()
	view := db.View()
	published := map[string]bool{}
	it, err := view.Snapshot.Prefix(dictionary.Entries.Table().Primary())
	if err != nil {
		t.Fatal(err)
	}
	for row := it.NextRow(); row != nil; row = it.NextRow() {
		published[dictionary.Entries.Value(row).Key] = true
	}
	acked.Range(func(k, _ any) bool {
		if !published[k.(string)] {
			t.Errorf("acknowledged %s is not in the published image", k)
		}
		return true
	})
	n := 0
	acked.Range(func(any, any) bool { n++; return true })
	if len(published) != n {
		t.Errorf("the published image holds %d keys, %d were acknowledged", len(published), n)
	}
	db.Close()
	failSyncs.Store(false)
	db, err = imago.Open(dir, dictionary.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := db.View().Snapshot.Count(dictionary.Entries.Table()), int64(n); got < want {
		t.Errorf("after restart %d keys, %d were acknowledged", got, want)
	}
	acked.Range(func(k, _ any) bool {
		if _, found, _ := dictionary.Entries.Get(db.View().Snapshot, k.(string)); !found {
			t.Errorf("acknowledged %s lost", k)
		}
		return true
	})
}
