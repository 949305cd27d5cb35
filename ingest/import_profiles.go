package ingest

import (
	"context"
	"io"
	"maps"
	"slices"
)

// profileFunc reads one input of a built-in source profile.
type profileFunc func(ctx context.Context, c *collector, file string, r io.Reader, opts *ImportOptions) error

// profiles are the built-in source profiles, by name.
var profiles = map[string]profileFunc{}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string { return slices.Sorted(maps.Keys(profiles)) }
