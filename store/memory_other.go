//go:build !(linux && cgo)

package store

// LeanMemory does nothing where DuckDB has no jemalloc.
func LeanMemory() (restore func()) { return func() {} }

func allocatorDecay() int { return -1 }
