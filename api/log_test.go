package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/envelope"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/writer"
)

// logLine is one line of GET /v1/log.
type logLine struct {
	Seq     uint64
	ID      string
	Name    string
	Actor   string
	Payload json.RawMessage
	Error   *struct{ Code, Message string }
}

func getLog(t *testing.T, url string) (int, []logLine) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []logLine
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return resp.StatusCode, lines
}

// addProducts submits n add_product commands, their skus p1..pn.
func addProducts(t *testing.T, db *imago.DB, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		cmd := &shop.AddProduct{SKU: fmt.Sprint("p", i), Name: "P", Category: "c", PriceCents: int64(i), Stock: 1}
		if _, err := db.SubmitMeta(context.Background(), cmd, commands.Meta{ID: fmt.Sprint("key-", i), Actor: "tester"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLogStream(t *testing.T) {
	db, srv := newServer(t)
	addProducts(t, db, 1, 10)
	if _, err := db.Submit(context.Background(), &shop.Restock{SKU: "p3", Quantity: 2}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		seqs  string
	}{
		{"", "1 2 3 4 5 6 7 8 9 10 11"},
		{"?from=9", "9 10 11"},
		{"?from=2&to=4", "2 3 4"},
		{"?to=1000", "1 2 3 4 5 6 7 8 9 10 11"},
		{"?name=restock", "11"},
		{"?name=restock,add_product&from=10", "10 11"},
		{"?last=2", "10 11"},
		{"?last=0", ""},
		{"?last=50", "1 2 3 4 5 6 7 8 9 10 11"},
		{"?from=12", ""},
	} {
		status, lines := getLog(t, srv.URL+"/v1/log"+c.query)
		var seqs []string
		for _, l := range lines {
			seqs = append(seqs, fmt.Sprint(l.Seq))
		}
		if status != 200 || strings.Join(seqs, " ") != c.seqs {
			t.Errorf("GET /v1/log%s: %d, seqs %v; want %s", c.query, status, seqs, c.seqs)
		}
	}
	// The lines carry the envelope and the decoded payload.
	_, lines := getLog(t, srv.URL+"/v1/log?from=3&to=3")
	var p shop.AddProduct
	if err := json.Unmarshal(lines[0].Payload, &p); err != nil || p.SKU != "p3" || p.PriceCents != 3 ||
		lines[0].ID != "key-3" || lines[0].Actor != "tester" || lines[0].Name != "add_product" {
		t.Errorf("entry 3: %+v, payload %+v (%v)", lines[0], p, err)
	}

	for _, c := range []struct{ query, want string }{
		{"?from=x", `parameter from="x": want a seq`},
		{"?to=-1", `parameter to="-1": want a seq`},
		{"?from=5&to=4", "to=4 is before from=5"},
		{"?follow=maybe", `parameter follow="maybe": want true or false`},
		{"?since=3", `unknown parameter "since"`},
		{"?from=2&last=3", "give from or last, not both"},
	} {
		status, body := get(t, srv.URL+"/v1/log"+c.query)
		var e errorBody
		json.Unmarshal(body, &e)
		if status != 400 || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("GET /v1/log%s: %d %s; want 400 with %q", c.query, status, body, c.want)
		}
	}

	status, body := get(t, srv.URL+"/v1/log/stats")
	var st envelope.Stats
	if err := json.Unmarshal(body, &st); status != 200 || err != nil || st.Entries != 11 || st.FirstSeq != 1 || st.LastSeq != 11 ||
		st.ByName["add_product"] != 10 || st.ByName["restock"] != 1 || st.Bytes == 0 || st.LastTime.Before(st.FirstTime) {
		t.Errorf("GET /v1/log/stats: %d %s", status, body)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestLogFollow: a follower gets the entries that exist, then each new one as
// it becomes durable, and its stream ends when the server shuts down.
func TestLogFollow(t *testing.T) {
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	shutdown := make(chan struct{})
	h, err := api.NewHandler(db, api.Config{Shutdown: shutdown})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	addProducts(t, db, 1, 3)

	resp, err := http.Get(srv.URL + "/v1/log?from=2&follow=true&name=add_product")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan logLine)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var l logLine
			json.Unmarshal(sc.Bytes(), &l)
			lines <- l
		}
	}()
	next := func() logLine {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no line from the follower")
			return logLine{}
		}
	}
	for _, want := range []uint64{2, 3} {
		if l := next(); l.Seq != want {
			t.Fatalf("follower got seq %d, want %d", l.Seq, want)
		}
	}
	db.Submit(context.Background(), &shop.Restock{SKU: "p1", Quantity: 1}) // seq 4, filtered out
	addProducts(t, db, 4, 2)                                               // seqs 5, 6
	for _, want := range []uint64{5, 6} {
		if l := next(); l.Seq != want || l.Name != "add_product" {
			t.Fatalf("follower got %+v, want seq %d", l, want)
		}
	}
	close(shutdown)
	select {
	case l, ok := <-lines:
		if ok {
			t.Fatalf("after shutdown the follower got %+v", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follow stream did not end at shutdown")
	}
}

// TestLogStopsAtDurableSeq: in durability interval the published image runs
// ahead of the disk; the log stream hands out only what was synced.
func TestLogStopsAtDurableSeq(t *testing.T) {
	durability, err := writer.ParseDurability("interval=1h")
	if err != nil {
		t.Fatal(err)
	}
	// The log's fsyncs wait until released: the command published meanwhile
	// is not durable for as long as the test needs. (The log's one flush
	// goroutine writes and then syncs: a later command waits for the held
	// sync, so the test submits one.)
	var held atomic.Bool
	release := make(chan struct{})
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		isSync := op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData || op.Kind == errorfs.OpFileSyncTo
		if isSync && strings.HasSuffix(op.Path, ".log") && held.Load() {
			<-release
		}
		return nil
	}))
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{Durability: durability, LogFS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	held.Store(true)
	h, err := api.NewHandler(db, api.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	addProducts(t, db, 1, 1)
	if db.View().Seq != 1 || db.DurableSeq() != 0 {
		t.Fatalf("published %d, durable %d; want 1 and 0 before the first sync", db.View().Seq, db.DurableSeq())
	}
	if _, lines := getLog(t, srv.URL+"/v1/log"); len(lines) != 0 {
		t.Errorf("GET /v1/log handed out %d entries that are not durable", len(lines))
	}
	held.Store(false)
	close(release)
	if err := db.Log().Sync(); err != nil {
		t.Fatal(err)
	}
	if _, lines := getLog(t, srv.URL+"/v1/log"); len(lines) != 1 {
		t.Errorf("after a sync GET /v1/log has %d entries, want 1", len(lines))
	}
}
