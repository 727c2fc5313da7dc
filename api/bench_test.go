package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/api"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/internal/latency"
)

// BenchmarkHTTPSubmit: durable place_order commands over HTTP from 64
// keep-alive connections, through the real net/http server and client.
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
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	var n atomic.Int64
	var rec latency.Recorder
	var wg sync.WaitGroup
	per := (b.N + conns - 1) / conns
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		s := rec.Series(per)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				body, _ := json.Marshal(workload.BenchOrder(n.Add(1)))
				t0 := time.Now()
				resp, err := client.Post(srv.URL+"/v1/commands/place_order", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				s.Add(time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	rec.Report(b, per*conns, elapsed)
}
