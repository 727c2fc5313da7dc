package reactors_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/reactors"
)

// TestReactorPassesImports: an imported history's commands reach no
// reactor (their side effects happened in the system they came from); the
// live commands after it do.
func TestReactorPassesImports(t *testing.T) {
	rec := &recorder{}
	db := openReactors(t, t.TempDir(), imago.Options{}, reactors.Reactor{Name: "sets", Commands: []string{"set"}, React: rec.React})
	defer db.Close()
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	var items []commands.Import
	for i := range 5 {
		items = append(items, commands.Import{Command: &dictionary.Set{Key: "k", Value: "old"}, Time: at.Add(time.Duration(i) * time.Second)})
	}
	if _, err := db.Import(context.Background(), items, "admin"); err != nil {
		t.Fatal(err)
	}
	live := set(t, db, "k", "new")
	waitFor(t, db, "sets", live)
	if got := rec.seqs(); !slices.Equal(got, []uint64{live}) {
		t.Errorf("the reactor got seqs %v, want only the live command's %d", got, live)
	}
}
