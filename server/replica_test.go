package server

import (
	"bufio"
	"bytes"
	"context"
	gosql "database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/checkpoint"
	"github.com/imagodb/imago/examples/dictionary"
)

// replicaRow is a row of imago.replicas.
type replicaRow struct {
	name, state      string
	sent, acked, lag uint64
	lagMs            int64
	since, seenAt    time.Time
}

// TestReplicasTable: imago.replicas on a primary shows a replica's stream
// (GET /v1/log?format=raw with Imago-Replica): what it was sent, what it
// acknowledged (POST /v1/replicas/{name}/ack; a bad one changes nothing),
// and from there its lag: the commands it has not applied and how long ago
// the oldest of them was accepted.
func TestReplicasTable(t *testing.T) {
	s, err := Start(config(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	set := func(key string) {
		if _, err := s.DB().Submit(context.Background(), &dictionary.Set{Key: key, Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	set("a")
	set("b")
	sqldb, err := gosql.Open("mysql", "root@tcp("+s.MySQLAddr()+")/imago?parseTime=true")
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	read := func() (r replicaRow) {
		t.Helper()
		err := sqldb.QueryRow("SELECT name, state, sent_seq, acked_seq, lag_commands, lag_ms, connected_since, last_seen FROM replicas").
			Scan(&r.name, &r.state, &r.sent, &r.acked, &r.lag, &r.lagMs, &r.since, &r.seenAt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// waitFor polls imago.replicas until ok: the stream's handler notices
	// an open or closed connection on its own goroutine.
	waitFor := func(what string, ok func(replicaRow) bool) replicaRow {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var n int
			if err := sqldb.QueryRow("SELECT COUNT(*) FROM replicas").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				if r := read(); ok(r) {
					return r
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("imago.replicas never showed %s", what)
			}
		}
	}

	streamCtx, closeStream := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(streamCtx, http.MethodGet, "http://"+s.HTTPAddr()+"/v1/log?format=raw&follow=true&from=1", nil)
	req.Header.Set("Imago-Replica", "r1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	in := bufio.NewReader(resp.Body)
	for range 2 { // both entries, as a replica reads them
		if _, err := in.ReadBytes('\n'); err != nil {
			t.Fatal(err)
		}
	}
	r := waitFor("r1 sent seq 2", func(r replicaRow) bool { return r.sent == 2 })
	if r.name != "r1" || r.state != "streaming" || r.acked != 0 || r.lag != 2 || r.lagMs <= 0 {
		t.Fatalf("a replica sent everything, acknowledging nothing yet: %+v, want r1 streaming, acked 0, lag 2 commands", r)
	}
	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"seq":9}`, http.StatusBadRequest, `seq\": 9 is past this primary's durable seq 2`},
		{`{"seq":-1}`, http.StatusBadRequest, `seq\" must be`},
		{`{"seq":1,"more":1}`, http.StatusBadRequest, `unknown field \"more\"`},
		{``, http.StatusBadRequest, `{\"seq\": N}`},
		{`{"seq":2}`, http.StatusNoContent, ``},
	} {
		resp, err := http.Post("http://"+s.HTTPAddr()+"/v1/replicas/r1/ack", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(answer), c.want) {
			t.Fatalf("ack %s: %s %s; want %d naming %s", c.body, resp.Status, answer, c.status, c.want)
		}
		if r := read(); c.status != http.StatusNoContent && r.acked != 0 {
			t.Fatalf("a refused ack %s changed the slot: %+v", c.body, r)
		}
	}
	if r := read(); r.acked != 2 || r.lag != 0 || r.lagMs != 0 {
		t.Fatalf("a replica that acknowledged everything: %+v, want acked 2 and no lag", r)
	}
	closeStream()
	resp.Body.Close()
	waitFor("r1 disconnected", func(r replicaRow) bool { return r.state == "disconnected" })

	before := time.Now()
	set("c")
	set("d")
	after := time.Now()
	r = read()
	readAt := time.Now()
	// lag_ms is the age of seq 3, accepted between before and after.
	if r.sent != 2 || r.lag != 2 || r.lagMs < readAt.Sub(after).Milliseconds() || r.lagMs > time.Since(before).Milliseconds() {
		t.Fatalf("a replica away while seqs 3 and 4 were written: %+v; want sent 2, lag 2 commands and %d..%d ms",
			r, readAt.Sub(after).Milliseconds(), time.Since(before).Milliseconds())
	}
}

// TestCheckpointsList: GET /v1/checkpoints lists each checkpoint with its
// seq, size, checksum, projection fingerprint, image hash and time, as the
// file and the image say; GET /v1/checkpoints/{seq} serves the file,
// resumable with Range while its ETag holds. After a restart the raw log
// stream's heartbeat carries the newest file's image hash.
func TestCheckpointsList(t *testing.T) {
	cfg := config(t)
	cfg.CheckpointOnStop = false
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := s.DB().Submit(context.Background(), &dictionary.Set{Key: k, Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	info, err := s.DB().Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.DB().View().Snapshot.Hash()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := checkpoint.Checksum(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	fp := s.DB().App().Fingerprint()
	list := listCheckpoints(t, s.HTTPAddr())
	if len(list) != 1 {
		t.Fatalf("GET /v1/checkpoints: %+v, want the one checkpoint", list)
	}
	got := list[0]
	if got.Seq != 3 || got.Size != info.Bytes || got.Checksum != fmt.Sprintf("%08x", sum) || got.Fingerprint != hex.EncodeToString(fp[:]) ||
		got.ImageHash != hex.EncodeToString(want[:]) || !got.CreatedAt.Equal(info.CreatedAt) {
		t.Fatalf("GET /v1/checkpoints: %+v\nwant seq 3, %d bytes, checksum %08x, fingerprint %x, image hash %x, created %v",
			got, info.Bytes, sum, fp, want, info.CreatedAt)
	}

	file, err := os.ReadFile(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	etag := fmt.Sprintf(`"%d-%s"`, got.Seq, got.Checksum)
	for _, c := range []struct {
		name, ifRange string
		status        int
		body          []byte
	}{
		{"resumed", etag, http.StatusPartialContent, file[100:]},
		{"another file", `"3-00000000"`, http.StatusOK, file},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+s.HTTPAddr()+"/v1/checkpoints/3", nil)
			req.Header.Set("Range", "bytes=100-")
			req.Header.Set("If-Range", c.ifRange)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !bytes.Equal(body, c.body) || resp.Header.Get("ETag") != etag {
				t.Fatalf("GET /v1/checkpoints/3 from byte 100, If-Range %s: %s, %d bytes, ETag %s; want %d, %d bytes, ETag %s",
					c.ifRange, resp.Status, len(body), resp.Header.Get("ETag"), c.status, len(c.body), etag)
			}
		})
	}

	// A restarted primary has written no checkpoint yet: its heartbeat
	// names the file's image hash.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	resp, err := http.Get("http://" + s.HTTPAddr() + "/v1/log?format=raw&follow=true&from=4")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var beat struct{ Heartbeat api.Heartbeat }
	if err := json.NewDecoder(resp.Body).Decode(&beat); err != nil {
		t.Fatal(err)
	}
	if img := beat.Heartbeat.Image; img == nil || img.Seq != 3 || img.Hash != got.ImageHash || img.Fingerprint != got.Fingerprint {
		t.Fatalf("the restarted primary's heartbeat: %+v, want the image hash at its checkpoint %+v", img, got)
	}
}

// listCheckpoints is GET /v1/checkpoints of the server at addr.
func listCheckpoints(t *testing.T, addr string) []api.CheckpointFile {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/v1/checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Checkpoints []api.CheckpointFile }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/checkpoints: %s %v", resp.Status, err)
	}
	return list.Checkpoints
}
