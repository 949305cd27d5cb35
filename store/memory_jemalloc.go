//go:build linux && cgo

package store

/*
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
// DuckDB's bundled jemalloc (built in on Linux), under its own prefix.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

// set_decay sets how long freed pages stay with the allocator, in every
// arena and for arenas made later; it returns the previous default, or -1.
static long set_decay(long ms) {
	ssize_t old = -1, v = ms;
	size_t n = sizeof(old);
	if (duckdb_je_mallctl("arenas.dirty_decay_ms", &old, &n, &v, sizeof(v)) != 0) return -1;
	duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &v, sizeof(v));
	unsigned narenas = 0;
	n = sizeof(narenas);
	duckdb_je_mallctl("arenas.narenas", &narenas, &n, NULL, 0);
	for (unsigned i = 0; i < narenas; i++) {
		char name[64];
		// arenas not made yet refuse; they will take the default above
		snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &v, sizeof(v));
		snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &v, sizeof(v));
	}
	return old;
}

static long get_decay(void) {
	ssize_t v = -1;
	size_t n = sizeof(v);
	if (duckdb_je_mallctl("arenas.dirty_decay_ms", &v, &n, NULL, 0) != 0) return -1;
	return v;
}
*/
import "C"

import "sync"

var lean struct {
	sync.Mutex
	users int
	decay C.long
}

// LeanMemory makes DuckDB's allocator hand freed memory back to the system
// at once until the returned restore is called. By default it keeps freed
// pages about a second for reuse, which is faster for queries, but a big
// export frees hundreds of MB a second: at 1M tickets that held a third of
// the process's peak memory (docs/benchmarks.md, Excel export).
func LeanMemory() (restore func()) {
	lean.Lock()
	defer lean.Unlock()
	if lean.users == 0 {
		lean.decay = C.set_decay(0)
	}
	lean.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			lean.Lock()
			defer lean.Unlock()
			if lean.users--; lean.users == 0 && lean.decay >= 0 {
				C.set_decay(lean.decay)
			}
		})
	}
}

// allocatorDecay is how long, in ms, DuckDB's allocator keeps freed pages
// of new arenas (-1: unknown).
func allocatorDecay() int { return int(C.get_decay()) }
