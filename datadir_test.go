package imago_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/examples/dictionary"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/offline"
)

// TestDataDirBelongsToOneApp: a data directory records the app that created
// it; opening it with another app, by the server or by the offline tools,
// refuses naming both apps and changes nothing.
func TestDataDirBelongsToOneApp(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir, shop.App())
	if _, err := db.Submit(context.Background(), &shop.AddProduct{SKU: "mug", Name: "Mug", Category: "kitchen", PriceCents: 1250, Stock: 3}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := listing(t, dir)
	dict := dictionary.App()
	for name, try := range map[string]func() error{
		"open": func() error {
			db, err := imago.Open(dir, dict, imago.Options{})
			if err == nil {
				db.Close()
			}
			return err
		},
		"check":       func() error { return imago.CheckDataDir(dir, dict) },
		"log verify":  func() error { _, err := offline.CheckLog(dir, dict); return err },
		"log stats":   func() error { _, err := offline.Stats(dir, dict); return err },
		"ckpt list":   func() error { _, err := offline.ListCheckpoints(dir, dict); return err },
		"ckpt verify": func() error { _, err := offline.VerifyCheckpoints(dir, dict); return err },
		"ckpt create": func() error { _, err := offline.CreateCheckpoint(dir, dict, 3, nil); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := try()
			var other *imago.OtherAppError
			if !errors.As(err, &other) || !strings.Contains(err.Error(), "app shop") || !strings.Contains(err.Error(), "app dictionary") ||
				!strings.Contains(err.Error(), "--data") {
				t.Fatalf("got %v; want a refusal naming app shop, app dictionary and --data", err)
			}
		})
	}
	if after := listing(t, dir); after != before {
		t.Fatalf("refusals changed the directory:\nbefore %s\nafter  %s", before, after)
	}

	// A directory from before the record is claimed only by an app that
	// knows its first command.
	if err := os.Remove(filepath.Join(dir, "APP")); err != nil {
		t.Fatal(err)
	}
	if _, err := imago.Open(dir, dict, imago.Options{}); err == nil || !strings.Contains(err.Error(), "add_product") {
		t.Fatalf("dictionary on an unrecorded shop directory: %v; want a refusal naming its first command", err)
	}
	db = open(t, dir, shop.App())
	db.Close()
	if b, err := os.ReadFile(filepath.Join(dir, "APP")); err != nil || strings.TrimSpace(string(b)) != "shop" {
		t.Fatalf("the shop did not claim its directory: %q %v", b, err)
	}
}

// listing is every path under dir with its mode (the lock file aside).
func listing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if path != filepath.Join(dir, "log", "LOCK") {
			b.WriteString(path + " " + fi.Mode().String() + "\n")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
