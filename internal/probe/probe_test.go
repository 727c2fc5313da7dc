package probe

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestMetricsAndWriter(t *testing.T) {
	reading := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reading++
		n := float64(reading * 10) // batches so far
		fmt.Fprintf(w, "# HELP imago_batch_commands commands per append\nimago_batch_commands_sum %g\nimago_batch_commands_count %g\n", 4*n, n)
		fmt.Fprintf(w, "imago_apply_seconds_sum %g\nimago_apply_seconds_count %g\n", 0.002*n, n)
		fmt.Fprintf(w, "imago_log_append_seconds_sum %g\nimago_log_append_seconds_count %g\nbroken line\n", 0.001*n, n)
	}))
	defer srv.Close()
	before, err := Metrics(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Metrics(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got := Writer(before, after)
	want := WriterFigures{Batches: 10, CommandsPerBatch: 4, Apply: 2 * time.Millisecond, Append: time.Millisecond}
	near := func(a, b time.Duration) bool { return a-b < time.Microsecond && b-a < time.Microsecond }
	if got.Batches != want.Batches || got.CommandsPerBatch != want.CommandsPerBatch || !near(got.Apply, want.Apply) || !near(got.Append, want.Append) {
		t.Fatalf("Writer = %+v, want %+v", got, want)
	}
}

func TestMetricsRefusesAnError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := Metrics(srv.URL); err == nil {
		t.Fatal("a 404 was read as metrics")
	}
}

func TestFreeAddr(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("the address FreeAddr gave cannot be listened on: %v", err)
	}
	ln.Close()
}
