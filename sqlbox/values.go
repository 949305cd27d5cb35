package sqlbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/internal/csvsafe"
)

// checkSelect parses q with DuckDB (json_serialize_sql, which serialises
// only SELECT statements) and accepts exactly one SELECT. The walk of its
// tree (tables, table functions) only turns DuckDB's catalog and a file
// name into a clear refusal: the boundary is that the sandbox holds
// nothing else and can open no file.
func (c *child) checkSelect(ctx context.Context, q string) error {
	var tree string
	if err := c.db.QueryRowContext(ctx, `SELECT json_serialize_sql(?::VARCHAR)::VARCHAR`, q).Scan(&tree); err != nil {
		return err
	}
	var parsed struct {
		Error        bool             `json:"error"`
		ErrorType    string           `json:"error_type"`
		ErrorMessage string           `json:"error_message"`
		Statements   []map[string]any `json:"statements"`
	}
	if err := json.Unmarshal([]byte(tree), &parsed); err != nil {
		return err
	}
	if parsed.Error {
		if parsed.ErrorType == "not implemented" {
			return refuse("only a SELECT is allowed: statements that write, copy, attach, load, install or set anything are refused")
		}
		return refuse("the SQL does not parse: %s", parsed.ErrorMessage)
	}
	if len(parsed.Statements) != 1 {
		return refuse("send exactly one SELECT statement, not %d", len(parsed.Statements))
	}
	ctes := map[string]bool{}
	collectCTEs(parsed.Statements[0], ctes)
	return walkSelect(parsed.Statements[0], ctes)
}

// tableFunctions are the table functions a query may call.
var tableFunctions = []string{"range", "generate_series", "unnest"}

func relationNames() string {
	names := make([]string, len(Relations))
	for i, r := range Relations {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

func collectCTEs(v any, into map[string]bool) {
	switch n := v.(type) {
	case map[string]any:
		if cm, ok := n["cte_map"].(map[string]any); ok {
			if entries, ok := cm["map"].([]any); ok {
				for _, e := range entries {
					if em, ok := e.(map[string]any); ok {
						if k, ok := em["key"].(string); ok {
							into[strings.ToLower(k)] = true
						}
					}
				}
			}
		}
		for _, c := range n {
			collectCTEs(c, into)
		}
	case []any:
		for _, c := range n {
			collectCTEs(c, into)
		}
	}
}

func walkSelect(v any, ctes map[string]bool) error {
	switch n := v.(type) {
	case map[string]any:
		switch n["type"] {
		case "BASE_TABLE":
			name := strings.ToLower(fmt.Sprint(n["table_name"]))
			schema, catalog := fmt.Sprint(n["schema_name"]), fmt.Sprint(n["catalog_name"])
			_, known := relationByName(name)
			if (schema != "" && schema != "main") || catalog != "" || (!known && !ctes[name]) {
				return refuse("%q cannot be read: a query may read only %s", n["table_name"], relationNames())
			}
		case "TABLE_FUNCTION":
			fn, _ := n["function"].(map[string]any)
			name := strings.ToLower(fmt.Sprint(fn["function_name"]))
			if !slices.Contains(tableFunctions, name) {
				return refuse("the table function %s is not allowed: a query may read only %s", name, relationNames())
			}
		}
		for _, c := range n {
			if err := walkSelect(c, ctes); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range n {
			if err := walkSelect(c, ctes); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFailure answers err as the API's JSON error: a Failure as it is,
// any other error (DuckDB's) as a failed query, 400.
func writeFailure(w http.ResponseWriter, err error) {
	var f *Failure
	if !errors.As(err, &f) {
		f = &Failure{Status: http.StatusBadRequest, Code: "query_failed", Field: "sql", Message: err.Error()}
		switch {
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			f.Code, f.Message = "timeout", "the query ran past its time limit and was stopped"
		case strings.HasPrefix(f.Message, "Out of Memory Error"):
			f.Code = "memory_exceeded"
		}
	}
	ans := failureAnswer(f)
	w.Header().Set("Content-Type", ans.ContentType)
	w.WriteHeader(ans.Status)
	w.Write(ans.Body)
}

// jsonValue makes a scanned DuckDB value JSON-friendly.
func jsonValue(v any) any {
	switch x := v.(type) {
	case duckdb.OrderedMap:
		out := map[string]any{}
		keys, values := x.Keys(), x.Values()
		for i := range keys {
			out[fmt.Sprint(keys[i])] = jsonValue(values[i])
		}
		return out
	case duckdb.Map:
		out := map[string]any{}
		for k, val := range x {
			out[fmt.Sprint(k)] = jsonValue(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = jsonValue(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k := range x {
			out[k] = jsonValue(x[k])
		}
		return out
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

// csvValue is a JSON-friendly value as one CSV cell: text that a
// spreadsheet would run as a formula is neutralised, numbers stay numbers.
func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return csvsafe.Cell(x)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return csvsafe.Cell(string(b))
	}
	return fmt.Sprint(v)
}
