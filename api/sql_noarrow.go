//go:build !duckdb_arrow

package api

import (
	"context"
	"errors"
)

// arrowOut is false: this build has no Arrow (build with -tags=duckdb_arrow,
// as the Makefile does).
const arrowOut = false

func (s *Server) runArrow(context.Context, string, int) ([]byte, bool, error) {
	return nil, false, errors.New("built without Arrow")
}
