package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/latency"
)

// BenchmarkHTTPSubmit: durable place_order commands over HTTP from 64
// keep-alive connections, through api.Server and net/http's client (see
// bench/peers for a client as cheap as redis-benchmark's, and the peers).
func BenchmarkHTTPSubmit(b *testing.B) {
	const conns = 64
	db, err := imago.Open(b.TempDir(), shop.App(), imago.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, c := range workload.BenchSetup() {
		if _, err := db.Submit(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	h, _ := api.NewHandler(db, api.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := api.NewServer(h, api.Config{}, &http.Server{})
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	var n atomic.Int64
	latency.Run(b, conns, func() error {
		body, _ := json.Marshal(workload.BenchOrder(n.Add(1)))
		resp, err := client.Post(base+"/v1/commands/place_order", "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}
