package reports

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// deflateBlock is how much input one goroutine compresses at a time.
const deflateBlock = 1 << 20

// parallelDeflate is a raw deflate stream compressed on every CPU, the
// way pigz does: the input is cut into blocks, each compressed on its own
// and ended with a sync flush (a byte-aligned empty stored block), the
// last with the final block; concatenated in order they are one valid
// deflate stream. Blocks do not share a dictionary, which costs well
// under 1% of size at 1 MiB blocks.
type parallelDeflate struct {
	out   io.Writer
	level int
	buf   []byte
	// order carries each block's result, in input order, to the one
	// goroutine that writes them; its capacity bounds the blocks in flight.
	order chan chan []byte
	done  chan struct{}
	err   error // first write error, set by the writing goroutine
	// open leaves the stream open at Close: its last block ends with a
	// sync flush instead of the final block, so that more deflate data
	// can follow it (a data sheet's rows, spliced into their sheet).
	open bool
}

var deflatePool sync.Pool // *flate.Writer

func newParallelDeflate(out io.Writer, level int) *parallelDeflate {
	d := &parallelDeflate{out: out, level: level, buf: newBlock(),
		order: make(chan chan []byte, 2*runtime.GOMAXPROCS(0)), done: make(chan struct{})}
	go d.write()
	return d
}

func (d *parallelDeflate) write() {
	defer close(d.done)
	for res := range d.order {
		block := <-res
		if d.err == nil {
			_, d.err = d.out.Write(block)
		}
	}
}

func (d *parallelDeflate) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), deflateBlock-len(d.buf))
		d.buf = append(d.buf, p[:k]...)
		p = p[k:]
		if len(d.buf) == deflateBlock {
			d.submit(false)
		}
	}
	return n, nil
}

// blockPool recycles input blocks: a big export deflates gigabytes, and
// fresh blocks would be garbage that grows the heap between collections.
var blockPool = sync.Pool{New: func() any { b := make([]byte, 0, deflateBlock); return &b }}

// newBlock is an empty input block from blockPool.
func newBlock() []byte { return (*blockPool.Get().(*[]byte))[:0] }

// submit compresses the buffered block in the background; last says no
// block follows (the stream ends, or stays open for a splice when open).
func (d *parallelDeflate) submit(last bool) {
	in := d.buf
	d.buf = nil
	if !last {
		d.buf = newBlock()
	}
	final := last && !d.open
	res := make(chan []byte, 1)
	d.order <- res
	go func() {
		var out bytes.Buffer
		out.Grow(len(in)/4 + 64)
		fw, _ := deflatePool.Get().(*flate.Writer)
		if fw == nil {
			fw, _ = flate.NewWriter(&out, d.level)
		} else {
			fw.Reset(&out)
		}
		fw.Write(in) // writes to a bytes.Buffer cannot fail
		if final {
			fw.Close()
		} else {
			fw.Flush()
		}
		deflatePool.Put(fw)
		in = in[:0]
		blockPool.Put(&in)
		res <- out.Bytes()
	}()
}

// Close compresses the rest as the final block (unless open) and waits
// for the output.
func (d *parallelDeflate) Close() error {
	d.submit(true)
	close(d.order)
	<-d.done
	return d.err
}

// crc32Combine is the CRC-32 (IEEE) of a||b from the CRCs of a and b and
// b's length, as zlib's crc32_combine computes it: appending len2 zero
// bytes to a is a linear map over GF(2), applied by squaring the matrix
// of one zero bit. A spliced sheet's CRC is made of its three pieces'.
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	if len2 <= 0 {
		return crc1
	}
	var even, odd [32]uint32
	odd[0] = 0xedb88320 // the reflected polynomial: one zero bit
	row := uint32(1)
	for n := 1; n < 32; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four
	for {
		gf2Square(&even, &odd) // one zero byte, then 4, 16...
		if len2&1 != 0 {
			crc1 = gf2Times(&even, crc1)
		}
		if len2 >>= 1; len2 == 0 {
			break
		}
		gf2Square(&odd, &even)
		if len2&1 != 0 {
			crc1 = gf2Times(&odd, crc1)
		}
		if len2 >>= 1; len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[32]uint32) {
	for n := range 32 {
		square[n] = gf2Times(mat, mat[n])
	}
}
