// Package sqlbox runs analysts' read-only SQL (POST /api/v1/sql) where the
// rest of deskpulse cannot be reached: in a process of its own, over a
// DuckDB file of its own that holds copies of the documented relations
// and nothing else, with file access and settings locked.
//
// The boundary is built, not filtered: the users, tokens, sessions,
// webhooks and mail outbox are not in the sandbox's database at all, so
// no spelling of a query can name them, and DuckDB there runs with
// enable_external_access=false and lock_configuration=true, so no query
// reads a file, attaches a database or lifts its memory limit. Because
// the process is separate, a query that runs away inside one DuckDB
// function (which DuckDB cannot interrupt) or grows past its memory is
// stopped by killing the process, and the server does not grow with it.
//
// The copies are brought up to date before each query from the store's
// events (append-only, by seq) and the tickets they touched, as Arrow
// record batches; the sandbox's file keeps them across restarts.
package sqlbox

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/internal/httpjson"
	"github.com/deskpulse/deskpulse/store"
)

// Settings bound the sandbox (config.yaml, key sql).
type Settings struct {
	// MemoryLimit is DuckDB's memory_limit in the sandbox ("512MB" when
	// empty); queries past it spill or fail with DuckDB's own error. The
	// process is stopped when its resident memory passes twice this plus
	// 512 MiB, which catches what DuckDB does not count (one huge value).
	MemoryLimit string `mapstructure:"memory_limit"`
	// Threads are DuckDB's threads in the sandbox (1 when 0), so that
	// analysts' queries leave the other core to the helpdesk.
	Threads int `mapstructure:"threads"`
	// MaxResultBytes caps one answer's size (64 MiB when 0).
	MaxResultBytes int `mapstructure:"max_result_bytes"`
}

func (s Settings) withDefaults() Settings {
	if s.MemoryLimit == "" {
		s.MemoryLimit = "512MB"
	}
	if s.Threads <= 0 {
		s.Threads = 1
	}
	if s.MaxResultBytes <= 0 {
		s.MaxResultBytes = 64 << 20
	}
	return s
}

// Available says whether this build has the sandbox (it needs the
// duckdb_arrow build tag, which the Makefile sets).
const Available = available

// Box is the sandbox of one store. Its process starts at the first query.
type Box struct {
	st       *store.Store
	refresh  func(context.Context) error // brings metrics_tickets up to date; may be nil
	set      Settings
	db       string // the sandbox's DuckDB file; "" in memory
	log      *slog.Logger
	mu       sync.Mutex // serialises starts and refreshes
	proc     *process
	state    state
	closed   bool
	stateLog string // where state is kept between runs (db + ".state")
}

// New makes the sandbox of st. refreshMetrics, when not nil, is called
// before each copy so that metrics_tickets is current (metrics.Engine's
// Refresh). The sandbox's file lives beside the store's.
func New(st *store.Store, refreshMetrics func(context.Context) error, set Settings) *Box {
	b := &Box{st: st, refresh: refreshMetrics, set: set.withDefaults(), log: slog.Default()}
	if p := st.Path(); p != "" && p != ":memory:" {
		b.db = strings.TrimSuffix(p, filepath.Ext(p)) + ".sqlbox.duckdb"
		b.stateLog = b.db + ".state"
	}
	return b
}

// Request is one analyst query.
type Request struct {
	SQL     string
	Format  string // json, csv or arrow
	MaxRows int
	Timeout time.Duration
}

// Answer is the sandbox's reply, ready to be written to the client as it
// is: a status, a content type and the body (the API's JSON error body
// when Status is not 200).
type Answer struct {
	Status      int
	ContentType string
	Truncated   bool
	Body        []byte
}

// Failure is an error with the HTTP status and API error code it maps to
// (the API's one error type).
type Failure = httpjson.Error

func refuse(format string, args ...any) *Failure {
	return &Failure{Status: http.StatusBadRequest, Code: "refused", Field: "sql", Message: fmt.Sprintf(format, args...)}
}

// Query brings the sandbox up to date and runs r in it. Errors that are
// the query's fault come back as an Answer with a 4xx status; an error
// return means the sandbox itself failed.
func (b *Box) Query(ctx context.Context, r Request) (*Answer, error) {
	if !available {
		return failureAnswer(&Failure{Status: http.StatusNotImplemented, Code: "unavailable", Message: "this deskpulse was built without Arrow (build with -tags=duckdb_arrow); the SQL sandbox needs it"}), nil
	}
	p, err := b.ready(ctx)
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	body, _ := json.Marshal(queryRequest{SQL: r.SQL, Format: r.Format, MaxRows: r.MaxRows, MaxBytes: b.set.MaxResultBytes})
	type reply struct {
		ans *Answer
		err error
	}
	done := make(chan reply, 1)
	go func() {
		ans, err := p.query(qctx, body, b.set.MaxResultBytes)
		done <- reply{ans, err}
	}()
	// The watchdog: DuckDB is interrupted when qctx ends, but one function
	// call (repeat, lpad of a huge size) is not interruptible, and memory
	// that is not in DuckDB's buffer pool is not limited by it; the process
	// is killed for either.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var grace <-chan time.Time
	for {
		select {
		case rep := <-done:
			switch {
			case p.killedFor() == "memory":
				return failureAnswer(&Failure{Status: http.StatusBadRequest, Code: "memory_exceeded", Field: "sql",
					Message: fmt.Sprintf("the query needed more than %d MiB of memory and was stopped", p.killAbove>>20)}), nil
			case p.killedFor() == "timeout" || (rep.err != nil && errors.Is(qctx.Err(), context.DeadlineExceeded)):
				return failureAnswer(timeoutFailure(r.Timeout)), nil
			case rep.err != nil:
				return nil, rep.err
			}
			return rep.ans, nil
		case <-tick.C:
			if rss := p.rss(); rss > p.killAbove {
				b.log.Warn("sql sandbox: a query passed the memory bound; stopping the sandbox", "rss_mib", rss>>20, "bound_mib", p.killAbove>>20)
				p.kill("memory")
			}
		case <-qctx.Done():
			if grace == nil {
				// DuckDB has been asked to stop; give it a moment, then stop
				// the process.
				grace = time.After(time.Second)
			}
		case <-grace:
			b.log.Warn("sql sandbox: a query did not stop at its time limit; stopping the sandbox", "timeout", r.Timeout)
			p.kill("timeout")
			grace = nil
		}
	}
}

func timeoutFailure(d time.Duration) *Failure {
	return &Failure{Status: http.StatusBadRequest, Code: "timeout", Field: "sql", Message: fmt.Sprintf("the query ran longer than %s and was stopped", d)}
}

func failureAnswer(f *Failure) *Answer {
	body, _ := json.Marshal(httpjson.ErrorBody{Error: *f})
	return &Answer{Status: f.Status, ContentType: "application/json", Body: body}
}

// ready starts the sandbox when it is not running and brings its copies up
// to date.
func (b *Box) ready(ctx context.Context) (*process, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("the SQL sandbox is closed")
	}
	if b.proc == nil || b.proc.exited() {
		p, err := b.start()
		if err != nil {
			return nil, fmt.Errorf("start the SQL sandbox: %w", err)
		}
		b.proc = p
		b.state = b.loadState()
	}
	if err := b.sync(ctx, b.proc); err != nil {
		return nil, fmt.Errorf("copy into the SQL sandbox: %w", err)
	}
	return b.proc, nil
}

// Close stops the sandbox process.
func (b *Box) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.proc != nil {
		b.proc.stop()
		b.proc = nil
	}
	return nil
}

// process is a running sandbox.
type process struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	dir       string
	client    *http.Client
	killAbove int64
	waited    chan struct{}

	mu     sync.Mutex
	reason string // why it was killed
}

func (b *Box) start() (*process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "deskpulse-sqlbox-") // 0700: only this user reaches the socket
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "socket")
	cfg, _ := json.Marshal(childConfig{Socket: sock, DB: b.db, MemoryLimit: b.set.MemoryLimit, Threads: b.set.Threads})
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &process{cmd: cmd, stdin: stdin, dir: dir, waited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.waited)
	}()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			p.stop()
			return nil, errors.New("the sandbox process did not start (see its error above)")
		}
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, errors.New("the sandbox process did not start within 30 s")
	}
	p.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	limit, err := p.memoryLimit()
	if err != nil {
		p.stop()
		return nil, err
	}
	p.killAbove = 2*limit + 512<<20
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.waited:
		return true
	default:
		return false
	}
}

func (p *process) kill(reason string) {
	p.mu.Lock()
	if p.reason == "" {
		p.reason = reason
	}
	p.mu.Unlock()
	p.cmd.Process.Kill()
	<-p.waited // so that the next query sees it gone and starts another
}

func (p *process) killedFor() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

// stop asks the process to end (it ends when its stdin closes), and
// kills it if it has not within 5 s.
func (p *process) stop() {
	p.stdin.Close()
	select {
	case <-p.waited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.waited
	}
	os.RemoveAll(p.dir)
}

// rss is the process's resident memory in bytes (0 when unknown).
func (p *process) rss() int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func (p *process) memoryLimit() (int64, error) {
	resp, err := p.client.Get("http://sqlbox/limit")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("sandbox memory limit: %s", raw)
	}
	return strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
}

func (p *process) query(ctx context.Context, body []byte, maxBytes int) (*Answer, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://sqlbox/query", strings.NewReader(string(body)))
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxBytes)+1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("sandbox: %s", raw)
	}
	return &Answer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		Truncated: resp.Header.Get("X-Truncated") == "true", Body: raw}, nil
}

// load sends one relation's rows (the result of q on conn) to the sandbox.
func (p *process) load(ctx context.Context, conn *sql.Conn, rel, mode, key string, after int64, q string, args ...any) error {
	pr, pw := io.Pipe()
	exported := make(chan struct{})
	go func() {
		defer close(exported)
		pw.CloseWithError(exportArrow(ctx, conn, pw, q, args...))
	}()
	// conn is the caller's again only once the export has returned.
	defer func() { <-exported }()
	v := url.Values{"table": {rel}, "mode": {mode}, "key": {key}, "after": {strconv.FormatInt(after, 10)}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://sqlbox/load?"+v.Encode(), pr)
	resp, err := p.client.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("%s: %w", rel, err)
	}
	defer resp.Body.Close()
	pr.CloseWithError(errors.New("the sandbox has answered"))
	if resp.StatusCode != http.StatusNoContent {
		raw, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", rel, strings.TrimSpace(string(raw)))
	}
	return nil
}
