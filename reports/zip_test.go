package reports

import (
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"
)

func TestCRC32Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {1000, 3}, {3, 100000}, {77777, 1 << 20}} {
		a, b := make([]byte, n[0]), make([]byte, n[1])
		for i := range a {
			a[i] = byte(r.Uint32())
		}
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		want := crc32.ChecksumIEEE(append(append([]byte{}, a...), b...))
		if got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b))); got != want {
			t.Errorf("%v: %08x, want %08x", n, got, want)
		}
	}
}

// TestParallelDeflate: blocks compressed apart and concatenated inflate
// to the input, also when an open stream is followed by more deflate data.
func TestParallelDeflate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	in := make([]byte, 3*deflateBlock+12345)
	for i := range in {
		in[i] = "abcdefgh<>/ 0123"[r.IntN(16)]
	}
	var out bytes.Buffer
	d := newParallelDeflate(&out, flate.BestSpeed)
	d.open = true
	for p := in; len(p) > 0; p = p[min(len(p), 7000):] {
		d.Write(p[:min(len(p), 7000)])
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	tail := newParallelDeflate(&out, flate.BestSpeed)
	tail.Write([]byte("</end>"))
	tail.Close()
	got, err := io.ReadAll(flate.NewReader(&out))
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, in...), "</end>"...); !bytes.Equal(got, want) {
		t.Fatalf("inflated %d bytes, want %d", len(got), len(want))
	}
}
