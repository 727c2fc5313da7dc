package replica_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/server"
)

// applied counts Apply calls in this process: a noisy set stores it, so
// that the primary and a replica (both in this process) store different
// values for the same command: a nondeterministic Apply.
var applied atomic.Int64

type noisySet struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func (*noisySet) Validate() error { return nil }
func (c *noisySet) Apply(tx *memdb.Txn, env *commands.Envelope) (any, error) {
	return (&dictionary.Set{Key: c.Key, Value: fmt.Sprint(c.Value, applied.Add(1))}).Apply(tx, env)
}

// noisyDictionary is the dictionary with a set that is not deterministic.
func noisyDictionary() *imago.App {
	app := dictionary.App()
	app.Commands = []commands.Definition{commands.Define[noisySet]("set", 1), commands.Define[dictionary.Add]("add", 1)}
	return app
}

func config(t testing.TB, app *imago.App) server.Config {
	return server.Config{
		App: app, Data: filepath.Join(t.TempDir(), "data"), Logger: slog.New(slog.DiscardHandler),
		HTTPAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0", MySQLUser: "root",
		CheckpointsKeep: 3, CheckpointShare: 1, IdempotencyWindow: time.Hour,
	}
}

// run starts a server and runs it until the test ends.
func run(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// TestDivergenceIsDetected: a replica compares its image with the
// primary's at each checkpoint seq the primary announces: equal for a
// deterministic app; for a nondeterministic one the replica stops there,
// saying where, and its readiness fails.
func TestDivergenceIsDetected(t *testing.T) {
	for _, c := range []struct {
		name     string
		app      func() *imago.App
		set      func(key string) commands.Command
		diverges bool
	}{
		{"deterministic", dictionary.App, func(k string) commands.Command { return &dictionary.Set{Key: k, Value: "v"} }, false},
		{"nondeterministic", noisyDictionary, func(k string) commands.Command { return &noisySet{Key: k, Value: "v"} }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			primary := run(t, config(t, c.app()))
			rcfg := config(t, c.app())
			rcfg.ReplicaOf = "http://" + primary.HTTPAddr()
			rsrv := run(t, rcfg)
			follower := rsrv.Replica()
			ctx := context.Background()
			for i := range 5 {
				if _, err := primary.DB().Submit(ctx, c.set(fmt.Sprint("k", i))); err != nil {
					t.Fatal(err)
				}
			}
			info, err := primary.DB().Checkpoint()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := primary.DB().Submit(ctx, &dictionary.Add{Key: "k0", Value: "+"}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				st := follower.Status()
				if st.Verified == info.Seq && !c.diverges {
					return
				}
				if st.Diverged != nil {
					if !c.diverges {
						t.Fatalf("a deterministic replica diverged: %v", st.Diverged)
					}
					if st.Diverged.At != info.Seq {
						t.Fatalf("diverged %+v; want found at seq %d", st.Diverged, info.Seq)
					}
					resp, err := http.Get("http://" + rsrv.HTTPAddr() + "/readyz")
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusServiceUnavailable {
						t.Fatalf("a diverged replica's /readyz: %s, want 503", resp.Status)
					}
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Fatalf("no verdict within 30 s: %+v", follower.Status())
		})
	}
}
