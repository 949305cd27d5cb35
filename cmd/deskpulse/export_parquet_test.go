package main

import (
	"bytes"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestImportThenExportParquet(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.duckdb")
	var out, errOut bytes.Buffer
	if err := run([]string{"import", "--db", db, "../../ingest/testdata/import_example.ndjson"}, &out, &errOut); err != nil {
		t.Fatalf("import: %v %s", err, errOut.String())
	}
	// The canonical example again, plus one event of another month.
	if err := run([]string{"import", "--db", db, "--dry-run", "../../ingest/testdata/import_example.ndjson"}, &out, &errOut); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	lake := filepath.Join(dir, "lake")
	if err := run([]string{"export", "parquet", "--db", db, "--dir", lake}, &out, &errOut); err != nil {
		t.Fatalf("export: %v", err)
	}
	err := run([]string{"export", "parquet", "--db", db, "--dir", lake}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second export without --overwrite: %v", err)
	}
	if err := run([]string{"export", "parquet", "--db", db, "--dir", lake, "--overwrite"}, &out, &errOut); err != nil {
		t.Fatalf("export --overwrite: %v", err)
	}
	if err := run([]string{"export", "xml", "--db", db}, &out, &errOut); err == nil {
		t.Fatal("an unknown export format was accepted")
	}

	// The exported events import as they are into another store.
	db2 := filepath.Join(dir, "y.duckdb")
	out.Reset()
	if err := run([]string{"import", "--db", db2, "--format", "parquet", lake + "/events/*/*.parquet"}, &out, &errOut); err != nil {
		t.Fatalf("import parquet: %v", err)
	}
	if err := run([]string{"import", "--db", db2, "--format", "parquet", lake + "/events/month=2026-01/events_0.parquet"}, &out, &errOut); err != nil {
		t.Fatalf("import parquet again: %v", err)
	}

	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	var n int
	var months, ids, compression string
	q := `SELECT count(*), string_agg(DISTINCT month, ','), string_agg(event_id, ',' ORDER BY seq) FROM read_parquet('` + lake + `/events/*/*.parquet', hive_partitioning = true)`
	if err := duck.QueryRow(q).Scan(&n, &months, &ids); err != nil {
		t.Fatal(err)
	}
	if n != 7 || months != "2026-01" || ids != "e1,e2,e3,e4,e5,e6,e7" {
		t.Fatalf("events read back: %d %s %s", n, months, ids)
	}
	var status string
	var frs, res int64
	q = `SELECT status, first_response_seconds, resolution_seconds, month FROM read_parquet('` + lake + `/tickets/*/*.parquet', hive_partitioning = true) WHERE id = 'EXT-1'`
	if err := duck.QueryRow(q).Scan(&status, &frs, &res, &months); err != nil {
		t.Fatal(err)
	}
	if status != "resolved" || frs != 3600 || res != 26*3600 || months != "2026-01" {
		t.Fatalf("ticket read back: %s %d %d %s", status, frs, res, months)
	}
	q = `SELECT DISTINCT compression FROM parquet_metadata('` + lake + `/events/*/*.parquet')`
	if err := duck.QueryRow(q).Scan(&compression); err != nil || compression != "ZSTD" {
		t.Fatalf("compression %q %v", compression, err)
	}
}
