package ingest

import (
	"fmt"
	"io"
)

// DefaultMaxInflated is how many bytes the compressed inputs (gzip, or
// the member of a zip) of one import may inflate to in all when
// ImportOptions.MaxInflated is 0: a few megabytes of gzip can hold
// gigabytes of newlines, which would keep an import busy for minutes to
// read nothing.
const DefaultMaxInflated int64 = 4 << 30

// InflatedTooLargeError refuses an import whose compressed inputs inflate
// past the limit; File is the input that crossed it. Nothing is stored.
type InflatedTooLargeError struct {
	File  string
	Limit int64
}

func (e *InflatedTooLargeError) Error() string {
	return fmt.Sprintf("the compressed input inflates past %d bytes (import.max_inflated_bytes)", e.Limit)
}

// maxInflated is the import's limit on inflated bytes.
func (o *ImportOptions) maxInflated() int64 {
	if o.MaxInflated > 0 {
		return o.MaxInflated
	}
	return DefaultMaxInflated
}

// inflateLimit passes on the bytes of an inflating reader while the
// import's allowance (*left, shared by its inputs) lasts, then fails with
// an *InflatedTooLargeError.
type inflateLimit struct {
	r    io.Reader
	left *int64
	err  *InflatedTooLargeError
}

func limitInflated(r io.Reader, file string, left *int64, limit int64) *inflateLimit {
	return &inflateLimit{r: r, left: left, err: &InflatedTooLargeError{File: file, Limit: limit}}
}

func (l *inflateLimit) Read(p []byte) (int, error) {
	if *l.left < 0 {
		return 0, l.err
	}
	// one byte past the allowance tells "exactly used up" from "too much"
	if int64(len(p)) > *l.left+1 {
		p = p[:*l.left+1]
	}
	n, err := l.r.Read(p)
	*l.left -= int64(n)
	if *l.left < 0 {
		return n - 1, l.err
	}
	return n, err
}
