package server

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
)

// config is a valid config on free loopback ports.
func config(t *testing.T) Config {
	return Config{
		App: dictionary.App(), Data: filepath.Join(t.TempDir(), "data"), Logger: slog.New(slog.DiscardHandler),
		HTTPAddr: "127.0.0.1:0", MySQLAddr: "127.0.0.1:0", MySQLUser: "root",
		CheckpointsKeep: 3, CheckpointShare: 0.25, IdempotencyWindow: time.Hour, CheckpointOnStop: true,
	}
}

// TestRefusedStartCreatesNothing: every setting is checked before the data
// directory is created or a port bound; the error names the flag.
func TestRefusedStartCreatesNothing(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"open HTTP without tokens", func(c *Config) { c.HTTPAddr = "0.0.0.0:0" }, "--http-addr"},
		{"open MySQL without password", func(c *Config) { c.MySQLAddr = "0.0.0.0:0" }, "--mysql-password"},
		{"bad address", func(c *Config) { c.MySQLAddr = "3306" }, "--mysql-addr"},
		{"no tokens file", func(c *Config) { c.HTTPTokensFile = "/nonexistent" }, "--http-tokens"},
		{"half TLS", func(c *Config) { c.TLSCert = "cert.pem" }, "--tls-cert and --tls-key"},
		{"keep none", func(c *Config) { c.CheckpointsKeep = 0 }, "--checkpoints-keep"},
		{"share 2", func(c *Config) { c.CheckpointShare = 2 }, "--checkpoint-share"},
		{"no window", func(c *Config) { c.IdempotencyWindow = 0 }, "--idempotency-window"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := config(t)
			c.change(&cfg)
			if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %s", err, c.want)
			}
			if _, err := os.Stat(cfg.Data); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a refused start left %s (%v)", cfg.Data, err)
			}
		})
	}
}

// TestAnotherAppsDirectory: a data directory of another app is refused
// before anything opens, naming both apps.
func TestAnotherAppsDirectory(t *testing.T) {
	cfg := config(t)
	db, err := imago.Open(cfg.Data, shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "app shop") || !strings.Contains(err.Error(), "app dictionary") {
		t.Fatalf("got %v, want a refusal naming both apps", err)
	}
}

// TestRunStopsInOrder: a started server serves until its context ends,
// then writes a checkpoint of what is new and closes everything.
func TestRunStopsInOrder(t *testing.T) {
	cfg := config(t)
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Submit(context.Background(), &dictionary.Set{Key: "k", Value: "v"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if seq, _ := s.DB().NewestCheckpoint(); seq != 1 {
		t.Fatalf("checkpoint at stop: seq %d, want 1", seq)
	}
	if err := s.DB().Err(); err == nil {
		if _, err := s.DB().Submit(context.Background(), &dictionary.Set{Key: "k", Value: "w"}); err == nil {
			t.Fatal("the database accepted a command after the stop")
		}
	}
}
