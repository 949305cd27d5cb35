package reports

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/deskpulse/deskpulse/internal/httpjson"
	"github.com/deskpulse/deskpulse/route"
)

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, nil, Definition{Name: "daily", Cron: "30 6 * * *", Timezone: "Europe/Berlin", Period: "previous_day", Recipients: []string{"a@example.com"}})
	mux := route.NewTable()
	s.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (*http.Response, []byte) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	resp, body := get("/api/v1/exports/report.xlsx?from=2026-03-01&to=2026-04-01&team=IT")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "deskpulse-report-2026-03-01_2026-03-31.xlsx") {
		t.Fatalf("xlsx: %d %v", resp.StatusCode, resp.Header)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("Tickets")
	for _, r := range rows[1:] {
		if r[9] != "IT" {
			t.Fatalf("team filter not applied: %v", r)
		}
	}
	f.Close()
	resp, body = get("/api/v1/exports/report.csv?from=2026-03-01&to=2026-04-01")
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "Number,Subject,") || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %.100s", resp.StatusCode, body)
	}
	resp, body = get("/api/v1/exports/report.xlsx?tz=Mars/Base")
	var apiErr httpjson.ErrorBody
	if json.Unmarshal(body, &apiErr); resp.StatusCode != 400 || apiErr.Error.Field != "tz" || apiErr.Error.Code != "invalid" {
		t.Fatalf("bad tz: %d %s", resp.StatusCode, body)
	}
	resp, body = get("/api/v1/reports")
	var list struct {
		Reports []struct {
			Name, Timezone string
			NextRun        string `json:"next_run"`
			NextFrom       string `json:"next_period_from"`
		}
	}
	json.Unmarshal(body, &list)
	// now is 2026-04-02 06:00 UTC = 08:00 Berlin, so the next run is the 3rd at 06:30 Berlin.
	if resp.StatusCode != 200 || len(list.Reports) != 1 || list.Reports[0].NextRun != "2026-04-03T06:30:00+02:00" || list.Reports[0].NextFrom != "2026-04-02T00:00:00+02:00" {
		t.Fatalf("reports: %d %s", resp.StatusCode, body)
	}
	resp, body = get("/api/v1/reports/runs?limit=0")
	if resp.StatusCode != 400 {
		t.Fatalf("runs limit=0: %d %s", resp.StatusCode, body)
	}
	resp, body = get("/api/v1/reports/runs")
	if resp.StatusCode != 200 || string(bytes.TrimSpace(body)) != `{"runs":[]}` {
		t.Fatalf("runs: %d %s", resp.StatusCode, body)
	}
}
