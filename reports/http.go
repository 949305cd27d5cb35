package reports

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/deskpulse/deskpulse/internal/httpjson"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

// Register adds the report routes to the API mux:
//
//	GET /api/v1/exports/report.xlsx  the analyst workbook (metrics query string)
//	GET /api/v1/exports/report.csv   its Tickets sheet as CSV
//	GET /api/v1/reports              scheduled reports with their next run
//	GET /api/v1/reports/runs         recorded runs (?report=NAME&limit=N)
func (s *Service) Register(routes *route.Table) {
	routes.Func("GET", "/api/v1/exports/report.xlsx", route.Need(model.PermMetrics), "the analyst workbook (Excel)", s.exportXLSX)
	routes.Func("GET", "/api/v1/exports/report.csv", route.Need(model.PermMetrics), "the report's Tickets sheet as CSV", s.exportCSV)
	routes.Func("GET", "/api/v1/reports", route.Need(model.PermManage), "scheduled reports with their next run", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.Reports(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"reports": list})
	})
	routes.Func("GET", "/api/v1/reports/runs", route.Need(model.PermManage), "recorded report runs", func(w http.ResponseWriter, r *http.Request) {
		limit := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				writeError(w, r, model.Invalid("limit", "must be a number from 1 to 1000"))
				return
			}
			limit = n
		}
		// Runs of a report since removed from the config are listed too.
		runs, err := s.Runs(r.Context(), r.URL.Query().Get("report"), limit)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
	})
}

func exportName(from, to time.Time, loc *time.Location, ext string) string {
	f, t := from.In(loc), to.In(loc)
	if isMidnight(t) {
		t = t.AddDate(0, 0, -1)
	}
	return fmt.Sprintf("deskpulse-report-%s_%s.%s", f.Format("2006-01-02"), t.Format("2006-01-02"), ext)
}

func (s *Service) exportXLSX(w http.ResponseWriter, r *http.Request) {
	// The workbook is assembled from temporary files and zipped straight
	// into the response, so memory stays flat.
	s.export(w, r, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		func(q metrics.Query, out io.Writer) error {
			_, err := WriteWorkbook(r.Context(), s.eng, q, out)
			return err
		})
}

func (s *Service) exportCSV(w http.ResponseWriter, r *http.Request) {
	s.export(w, r, "csv", "text/csv; charset=utf-8",
		func(q metrics.Query, out io.Writer) error { _, err := WriteCSV(r.Context(), s.eng, q, out); return err })
}

// export streams a download of the query in the request: errors before
// the first byte are JSON, later ones abort the download.
func (s *Service) export(w http.ResponseWriter, r *http.Request, ext, contentType string, write func(metrics.Query, io.Writer) error) {
	q, err := s.ExportQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+exportName(q.From, q.To, q.TZ, ext)+`"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := &commitWriter{w: w}
	if err := write(q, cw); err != nil {
		if !cw.started {
			w.Header().Del("Content-Disposition")
			writeError(w, r, err)
			return
		}
		slog.Error("export aborted", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// commitWriter remembers whether the response has started.
type commitWriter struct {
	w       http.ResponseWriter
	started bool
}

func (c *commitWriter) Write(p []byte) (int, error) {
	c.started = true
	return c.w.Write(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpjson.WriteError(w, r, err, nil)
}
