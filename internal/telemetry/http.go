package telemetry

import (
	"net/http"
	"time"

	"github.com/deskpulse/deskpulse/route"
)

// Wrap counts and times every request by the route table's pattern that
// serves it (never the raw path, so the label values stay bounded: a
// request no route matches counts as route "other") and status class.
func (t *Telemetry) Wrap(tbl *route.Table, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		method, path := "other", "other"
		if rt, ok := tbl.Match(r); ok {
			method, path = rt.Method, rt.Path
			if method == "" {
				method = "any" // a catch-all route
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		t.httpRequests.WithLabelValues(method, path, statusClass(sw.status)).Inc()
		t.httpSeconds.WithLabelValues(method, path).Observe(time.Since(start).Seconds())
	})
}

var classes = [...]string{"2xx", "3xx", "4xx", "5xx"}

func statusClass(code int) string {
	if code == 0 {
		code = http.StatusOK // the handler wrote nothing or only a body
	}
	if i := code/100 - 2; i >= 0 && i < len(classes) {
		return classes[i]
	}
	return "other"
}

// statusWriter remembers the status written; Unwrap lets
// http.ResponseController reach the connection (flushes, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are interim: the final status follows
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps streaming responses (exports) streaming for handlers that
// ask for an http.Flusher.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
