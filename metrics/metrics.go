// Package metrics exports a running Imago's figures to Prometheus, named
// imago_*: the writer's commands, batches and latencies (as its
// writer.Observer), SQL statements by kind and their latency (as the SQL
// server's Observer), gauges read when scraped (writer queue depth, last
// durable seq, image rows by table, open MySQL connections), and Go's
// runtime and process metrics.
//
// Counting costs the hot paths an atomic add per command and per statement;
// everything else is read at scrape time.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imagodb/imago/commands"
	"github.com/imagodb/imago/memdb"
	"github.com/imagodb/imago/reactors"
)

// Metrics holds an Imago process's metrics and serves them.
type Metrics struct {
	reg        *prometheus.Registry
	accepted   *prometheus.CounterVec
	refused    *prometheus.CounterVec
	batch      prometheus.Histogram
	apply      prometheus.Histogram
	logged     prometheus.Histogram
	statements *prometheus.HistogramVec
}

// latencyBuckets span 10 µs to 10 s: an fsync, a point select, a long scan.
var latencyBuckets = prometheus.ExponentialBuckets(10e-6, 4, 11)

// New returns the metrics, with Go's runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imago_commands_accepted_total", Help: "Commands that became durable, by command name.",
		}, []string{"command"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imago_commands_refused_total", Help: "Commands refused by Validate or Apply (nothing logged), by command name.",
		}, []string{"command"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "imago_batch_commands", Help: "Commands per writer batch: per log append, so per fsync in durability always.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "imago_apply_seconds", Help: "Time to apply a batch to the image.", Buckets: latencyBuckets,
		}),
		logged: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "imago_log_append_seconds", Help: "Time to append a batch to the log, fsync included in durability always.", Buckets: latencyBuckets,
		}),
		statements: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "imago_sql_statement_seconds", Help: "SQL statements by kind and result, and their latency.", Buckets: latencyBuckets,
		}, []string{"kind", "result"}),
	}
	m.reg.MustRegister(m.accepted, m.refused, m.batch, m.apply, m.logged, m.statements,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Accepted implements writer.Observer.
func (m *Metrics) Accepted(name string) { m.accepted.WithLabelValues(name).Inc() }

// Refused implements writer.Observer.
func (m *Metrics) Refused(name string) { m.refused.WithLabelValues(name).Inc() }

// Batch implements writer.Observer.
func (m *Metrics) Batch(n int, apply, log time.Duration) {
	m.batch.Observe(float64(n))
	m.apply.Observe(apply.Seconds())
	m.logged.Observe(log.Seconds())
}

// Statement implements sql.Observer.
func (m *Metrics) Statement(kind string, d time.Duration, failed bool) {
	result := "ok"
	if failed {
		result = "error"
	}
	m.statements.WithLabelValues(kind, result).Observe(d.Seconds())
}

// DB is what the scrape-time gauges read of a database; *imago.DB has it.
type DB interface {
	View() *commands.View
	DurableSeq() uint64
	QueueDepth() int
	Tables() []*memdb.Table
	Reactors() []reactors.Status
}

// Connections is what the scrape-time gauges read of the SQL server;
// *sql.Server has it.
type Connections interface {
	OpenConnections() int
}

// Watch registers the gauges read from db and, if not nil, the SQL server.
func (m *Metrics) Watch(db DB, sql Connections) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "imago_writer_queue_depth", Help: "Commands waiting for the writer.",
		}, func() float64 { return float64(db.QueueDepth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "imago_last_durable_seq", Help: "Seq of the last command on stable storage (as the durability mode promises).",
		}, func() float64 { return float64(db.DurableSeq()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "imago_published_seq", Help: "Seq of the last command in the published image (ahead of the durable seq only in durability interval).",
		}, func() float64 { return float64(db.View().Seq) }),
		tableSizes{db: db,
			rows:  prometheus.NewDesc("imago_image_rows", "Rows in the published image, by table.", []string{"table"}, nil),
			bytes: prometheus.NewDesc("imago_image_bytes", "Bytes of the column values in the published image, by table (data only: index trees and Go's boxing are in the process' heap).", []string{"table"}, nil)},
		reactorProgress{db: db,
			lag:      prometheus.NewDesc("imago_reactor_lag", "Durable commands a reactor has yet to deal with.", []string{"reactor"}, nil),
			failures: prometheus.NewDesc("imago_reactor_failures", "Failed attempts at the command a reactor is on (0: none).", []string{"reactor"}, nil)},
	)
	if sql != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "imago_mysql_connections", Help: "Open MySQL client connections.",
		}, func() float64 { return float64(sql.OpenConnections()) }))
	}
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// tableSizes reports the rows and bytes of every table of one snapshot.
type tableSizes struct {
	db          DB
	rows, bytes *prometheus.Desc
}

func (t tableSizes) Describe(ch chan<- *prometheus.Desc) { ch <- t.rows; ch <- t.bytes }

func (t tableSizes) Collect(ch chan<- prometheus.Metric) {
	snap := t.db.View().Snapshot
	for _, tb := range t.db.Tables() {
		ch <- prometheus.MustNewConstMetric(t.rows, prometheus.GaugeValue, float64(snap.Count(tb)), tb.Name())
		ch <- prometheus.MustNewConstMetric(t.bytes, prometheus.GaugeValue, float64(snap.Bytes(tb)), tb.Name())
	}
}

// reactorProgress reports every reactor's lag and failures.
type reactorProgress struct {
	db            DB
	lag, failures *prometheus.Desc
}

func (r reactorProgress) Describe(ch chan<- *prometheus.Desc) { ch <- r.lag; ch <- r.failures }

func (r reactorProgress) Collect(ch chan<- prometheus.Metric) {
	for _, st := range r.db.Reactors() {
		ch <- prometheus.MustNewConstMetric(r.lag, prometheus.GaugeValue, float64(st.Lag), st.Name)
		ch <- prometheus.MustNewConstMetric(r.failures, prometheus.GaugeValue, float64(st.Failures), st.Name)
	}
}
