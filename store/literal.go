package store

import "strings"

// Literal quotes s as a SQL string literal. Bind values as parameters
// wherever DuckDB takes one; Literal is for the places it takes none
// (COPY and EXPORT targets, SET values, a table function's file name in
// a DESCRIBE, statements built from configuration).
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
