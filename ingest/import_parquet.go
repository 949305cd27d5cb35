package ingest

import (
	"context"
	"errors"
)

func (w *Writer) readParquet(ctx context.Context, c *collector, file, path string) error {
	return errors.New("not yet")
}
