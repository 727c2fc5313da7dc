package metrics_test

import (
	"context"
	gosql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/imagodb/imago"
	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/examples/shop"
	"github.com/imagodb/imago/examples/shop/workload"
	"github.com/imagodb/imago/metrics"
	imagosql "github.com/imagodb/imago/sql"
)

// TestMetricsAfterWorkload: after a mixed workload (accepted, refused by
// Apply and by Validate; SQL statements that succeed and fail), the
// scraped counters equal what was submitted and refused, and the gauges
// equal the database's state.
func TestMetricsAfterWorkload(t *testing.T) {
	m, db, srv := serveWatched(t)

	accepted, refused := map[string]float64{}, map[string]float64{}
	ctx := context.Background()
	cmds := append(workload.Setup(30, 10), workload.Setup(5, 0)...) // the second five customers exist: Apply refuses
	cmds = append(cmds, &shop.RegisterCustomer{CustomerID: "x", Name: "X", Email: "no-at-sign", Country: "DE"})
	g := workload.New("m", 1, 30, 10)
	for range 200 {
		cmds = append(cmds, g.Next())
	}
	for _, c := range cmds {
		def, err := db.Registry().Of(c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Submit(ctx, c)
		var invalid *commands.InvalidError
		var refusal *commands.RefusedError
		switch {
		case err == nil:
			accepted[def.Name]++
		case errors.As(err, &invalid), errors.As(err, &refusal):
			refused[def.Name]++
		default:
			t.Fatal(err)
		}
	}
	if refused["register_customer"] != 6 {
		t.Fatalf("refused register_customer %v, want 6 (5 by Apply, 1 by Validate)", refused["register_customer"])
	}

	conn, err := gosql.Open("mysql", fmt.Sprintf("root@tcp(%s)/shop", srv.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	for range 7 {
		var n int
		if err := conn.QueryRow("SELECT COUNT(*) FROM customers").Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Query("SELECT nope FROM customers"); err == nil {
		t.Fatal("unknown column accepted")
	}

	families := scrape(t, m.Handler())
	for name, want := range accepted {
		if got := value(families, "imago_commands_accepted_total", "command", name); got != want {
			t.Errorf("accepted %s: %v, want %v", name, got, want)
		}
	}
	for name, want := range refused {
		if got := value(families, "imago_commands_refused_total", "command", name); got != want {
			t.Errorf("refused %s: %v, want %v", name, got, want)
		}
	}
	var total float64
	for _, n := range accepted {
		total += n
	}
	if got := histogramCount(families, "imago_batch_commands", "", ""); got < 1 || sum(families, "imago_batch_commands") != total {
		t.Errorf("batches: %v batches with %v commands, want %v commands", got, sum(families, "imago_batch_commands"), total)
	}
	if got := value(families, "imago_last_durable_seq", "", ""); got != float64(db.View().Seq) || got != total {
		t.Errorf("last durable seq %v, want %d (= %v accepted)", got, db.View().Seq, total)
	}
	if got := histogramCount(families, "imago_sql_statement_seconds", "kind", "select", "result", "ok"); got != 7 {
		t.Errorf("select ok: %v, want 7", got)
	}
	if got := histogramCount(families, "imago_sql_statement_seconds", "kind", "select", "result", "error"); got != 1 {
		t.Errorf("select error: %v, want 1", got)
	}
	if got := value(families, "imago_mysql_connections", "", ""); got != 1 {
		t.Errorf("open connections %v, want 1", got)
	}
	snap := db.View().Snapshot
	for _, tb := range db.Tables() {
		if got := value(families, "imago_image_rows", "table", tb.Name()); got != float64(snap.Count(tb)) {
			t.Errorf("rows of %s: %v, want %d", tb.Name(), got, snap.Count(tb))
		}
		if got := value(families, "imago_image_bytes", "table", tb.Name()); got != float64(snap.Bytes(tb)) || got == 0 {
			t.Errorf("bytes of %s: %v, want %d", tb.Name(), got, snap.Bytes(tb))
		}
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// serveWatched opens the shop and serves it over MySQL, both reporting to
// new metrics that watch them.
func serveWatched(t *testing.T) (*metrics.Metrics, *imago.DB, *imagosql.Server) {
	t.Helper()
	m := metrics.New()
	db, err := imago.Open(t.TempDir(), shop.App(), imago.Options{Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv, err := imagosql.NewServer(imagosql.Config{Addr: "127.0.0.1:0", Database: "shop", Tables: db.Tables(), Source: db, Version: "test", Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	m.Watch(db, srv)
	return m, db, srv
}

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// metric finds the metric of family name whose labels are the given
// name/value pairs (none: the family's only metric).
func metric(families map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f, ok := families[name]
	if !ok {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			if labels[i] == "" {
				continue
			}
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := metric(families, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

func histogramCount(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	if m := metric(families, name, labels...); m != nil && m.Histogram != nil {
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

func sum(families map[string]*dto.MetricFamily, name string) float64 {
	if m := metric(families, name); m != nil && m.Histogram != nil {
		return m.Histogram.GetSampleSum()
	}
	return -1
}

// TestDashboardNamesExist: every metric the sample Grafana dashboard
// queries is one Imago exports.
func TestDashboardNamesExist(t *testing.T) {
	m, db, _ := serveWatched(t)
	for _, c := range workload.Setup(1, 1) {
		if _, err := db.Submit(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	db.Submit(context.Background(), workload.Setup(1, 0)[0]) // refused: exists
	m.Statement("select", time.Millisecond, false)
	families := scrape(t, m.Handler())

	raw, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`\b(imago|go|process)_[a-z_]+`)
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, n := range name.FindAllString(target.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
				if families[n] == nil && families[base] == nil {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, n)
				}
			}
		}
	}
}
