package ingest

// GoNDJSON returns opts with NDJSON always read by encoding/json (the Go
// path), never by DuckDB's reader.
func GoNDJSON(opts ImportOptions) ImportOptions {
	opts.goNDJSON = true
	return opts
}

// ObserveNDJSON returns opts with seen told, for each NDJSON file, whether
// DuckDB's reader staged it.
func ObserveNDJSON(opts ImportOptions, seen func(file string, duckdb bool)) ImportOptions {
	opts.observeNDJSON = seen
	return opts
}

// EventJSONKeys are the keys DuckDB's reader of NDJSON vouches for.
func EventJSONKeys() []string { return eventJSONKeys }

// RowsText renders rows as text, as the package's tests compare tables.
var RowsText = rowsText
