package main

import (
	"bytes"
	"database/sql"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	_ "github.com/go-sql-driver/mysql"
)

// TestOwnAppModule: the README's application of a user's own, a module of
// its own (examples/notes) with one call to cli.Main, builds, serves its
// commands over HTTP and its table over MySQL; and the README shows it as
// it is.
func TestOwnAppModule(t *testing.T) {
	src := filepath.Join("..", "..", "examples", "notes")
	mainGo, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, mainGo) {
		t.Error("README.md does not show examples/notes/main.go as it is")
	}
	bin := filepath.Join(t.TempDir(), "notes")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the notes module: %v\n%s", err, out)
	}
	p := startBinary(t, bin, filepath.Join(t.TempDir(), "notes-data"))
	for _, c := range []struct{ name, body string }{
		{"add_note", `{"id":"n1","text":"buy milk"}`},
		{"finish_note", `{"id":"n1"}`},
	} {
		resp, err := http.Post("http://"+p.httpAddr+"/v1/commands/"+c.name, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", c.name, resp.Status)
		}
	}
	db, err := sql.Open("mysql", "root@tcp("+p.sqlAddr+")/notes")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var text, by string
	var done bool
	if err := db.QueryRow("SELECT text, done, created_by FROM notes WHERE id = 'n1'").Scan(&text, &done, &by); err != nil {
		t.Fatal(err)
	}
	if text != "buy milk" || !done || by != "anonymous" {
		t.Fatalf("note n1: %q done=%v by %q", text, done, by)
	}
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.stderr)
	}
}
