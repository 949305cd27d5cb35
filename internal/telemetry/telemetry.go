// Package telemetry is deskpulse's Prometheus metrics, served at GET
// /metrics to tokens whose role grants "metrics": the write path (batch
// sizes, commit and command latencies, queue depth, commands by outcome),
// metric query latencies per catalog name, HTTP requests per route
// pattern, and, read at scrape time, the outboxes' backlog and the
// automation engine's lag. It has a registry of its own (with the Go,
// process and database pool collectors), never the global one.
//
// Label values are bounded: routes are the route table's patterns (never
// the raw path), metrics the catalog's names, outcomes fixed words.
package telemetry

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

// Telemetry holds the registry and the instruments the server updates.
type Telemetry struct {
	Registry *prometheus.Registry

	batchCommands  prometheus.Histogram
	batchEvents    prometheus.Histogram
	commitSeconds  prometheus.Histogram
	commandSeconds prometheus.Histogram
	commands       *prometheus.CounterVec
	// one child per outcome, looked up once so a batch costs no map lookups
	committed, applied, rejected, failed prometheus.Counter

	querySeconds *prometheus.HistogramVec
	httpRequests *prometheus.CounterVec
	httpSeconds  *prometheus.HistogramVec
}

// Latency buckets, in seconds: a commit takes a few milliseconds, a
// metric query tens to hundreds, an HTTP request anything up to an import.
var (
	commitBuckets = []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}
	queryBuckets  = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	httpBuckets   = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
)

// New makes the registry and its instruments, and wires them to the
// server's parts: the writer's batches, the engine's queries, and the
// store for the gauges read at scrape time.
func New(st *store.Store, w *ingest.Writer, m *metrics.Engine) *Telemetry {
	t := &Telemetry{Registry: prometheus.NewRegistry()}
	t.batchCommands = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskpulse_writer_batch_commands", Help: "Commands per group-commit batch of the single writer.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 9), // 1 .. 256, the default batch limit
	})
	t.batchEvents = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskpulse_writer_batch_events", Help: "Events stored per group-commit batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 .. 1024
	})
	t.commitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskpulse_writer_commit_duration_seconds", Help: "Time to decide and commit one batch.",
		Buckets: commitBuckets,
	})
	t.commandSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "deskpulse_writer_command_duration_seconds", Help: "Time from sending a command to its answer: queueing, lingering for a batch and committing.",
		Buckets: commitBuckets,
	})
	t.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskpulse_writer_commands_total", Help: "Commands the writer answered, by outcome: committed, applied (a keyed command seen before), rejected (by the ticket's state or validation), failed (by the store).",
	}, []string{"outcome"})
	t.committed, t.applied = t.commands.WithLabelValues("committed"), t.commands.WithLabelValues("applied")
	t.rejected, t.failed = t.commands.WithLabelValues("rejected"), t.commands.WithLabelValues("failed")
	t.querySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "deskpulse_metric_query_duration_seconds", Help: "Metric queries (the summary and the catalog's series) by metric name.",
		Buckets: queryBuckets,
	}, []string{"metric"})
	t.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "deskpulse_http_requests_total", Help: "HTTP requests by route (the route table's pattern) and status class.",
	}, []string{"method", "route", "status"})
	t.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "deskpulse_http_request_duration_seconds", Help: "HTTP request latency by route (the route table's pattern).",
		Buckets: httpBuckets,
	}, []string{"method", "route"})
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "deskpulse_writer_queue_depth", Help: "Commands waiting for the writer.",
	}, func() float64 { return float64(w.QueueDepth()) })
	capacity := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "deskpulse_writer_queue_capacity", Help: "Commands that may wait before senders block.",
	}, func() float64 { return float64(w.QueueCapacity()) })

	t.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(st.DB, "deskpulse"),
		t.batchCommands, t.batchEvents, t.commitSeconds, t.commandSeconds, t.commands,
		t.querySeconds, t.httpRequests, t.httpSeconds, queue, capacity,
		&backlog{st: st, w: w},
	)
	// Every metric name shows from the first scrape, at zero.
	for _, d := range m.List() {
		t.querySeconds.WithLabelValues(d.Name)
	}
	w.Observe(writerObserver{t})
	m.Observe(func(metric string, d time.Duration) { t.querySeconds.WithLabelValues(metric).Observe(d.Seconds()) })
	return t
}

// Register adds GET /metrics: Prometheus scrapes it with an API token
// (a bearer token) of a role that grants "metrics".
func (t *Telemetry) Register(tbl *route.Table) {
	h := promhttp.HandlerFor(t.Registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError, // one failing gauge does not hide the rest
		Registry:      t.Registry,               // promhttp_metric_handler_errors_total
	})
	tbl.Add(route.Route{Method: "GET", Path: "/metrics", Access: route.Need(model.PermMetrics),
		Summary: "Prometheus metrics (text exposition)", Handler: h, Machine: true})
}

// writerObserver turns the writer's batches into observations: a few
// per batch and one per command, none per event.
type writerObserver struct{ t *Telemetry }

func (o writerObserver) Batch(s ingest.BatchStats) {
	t := o.t
	t.batchCommands.Observe(float64(s.Commands))
	if s.Events > 0 {
		t.batchEvents.Observe(float64(s.Events))
	}
	t.commitSeconds.Observe(s.Duration.Seconds())
	t.committed.Add(float64(s.Committed))
	t.applied.Add(float64(s.Applied))
	t.rejected.Add(float64(s.Rejected))
	t.failed.Add(float64(s.Failed))
}

func (o writerObserver) Command(d time.Duration) { o.t.commandSeconds.Observe(d.Seconds()) }

// backlog is the gauges read from the store at each scrape: pending mail
// and webhook deliveries, and how far the automation engine's saved
// cursor is behind the newest event. A few small queries: the outbox
// tables hold one row per message, and the two events are found by seq.
type backlog struct {
	st *store.Store
	w  *ingest.Writer
}

var (
	outboxDesc    = prometheus.NewDesc("deskpulse_outbox_pending", "Messages waiting to be sent, by queue: mail (notification e-mails) and webhook (deliveries).", []string{"queue"}, nil)
	lagEventsDesc = prometheus.NewDesc("deskpulse_automation_lag_events", "Events committed after the automation engine's saved cursor.", nil, nil)
	lagDesc       = prometheus.NewDesc("deskpulse_automation_lag_seconds", "Time between the newest committed event and the event at the automation engine's saved cursor (by occurrence time).", nil, nil)
)

func (b *backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- lagEventsDesc
	ch <- lagDesc
}

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var mail, hooks int64
	var cursor sql.NullString
	err := b.st.DB.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM mail_outbox WHERE status = 'pending'),
		(SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'),
		(SELECT value FROM automation_state WHERE key = 'cursor')`).Scan(&mail, &hooks, &cursor)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(mail), "mail")
	ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(hooks), "webhook")
	if !cursor.Valid {
		return // the engine has never run: no lag to speak of
	}
	at, err := strconv.ParseInt(cursor.String, 10, 64)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lagDesc, err)
		return
	}
	last := b.w.LastSeq()
	ch <- prometheus.MustNewConstMetric(lagEventsDesc, prometheus.GaugeValue, float64(max(last-at, 0)))
	lag, err := b.lagSeconds(ctx, at, last)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lagDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag)
}

// lagSeconds is the time between the events at two seqs (0 when the
// cursor is at the newest or an event is missing, as in an empty store).
func (b *backlog) lagSeconds(ctx context.Context, cursor, last int64) (float64, error) {
	if cursor >= last {
		return 0, nil
	}
	var secs sql.NullFloat64
	err := b.st.DB.QueryRowContext(ctx, `SELECT epoch(max(occurred_at) FILTER (seq = ?)) - epoch(max(occurred_at) FILTER (seq = ?))
		FROM events WHERE seq IN (?, ?)`, last, cursor, last, cursor).Scan(&secs)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	return max(secs.Float64, 0), nil
}
