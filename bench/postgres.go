package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/deskpulse/deskpulse/store"
)

// ErrNoPostgres says that the PostgreSQL server binaries are missing.
var ErrNoPostgres = errors.New("PostgreSQL 15 server binaries (initdb, pg_ctl) not found: install them with `apt-get install postgresql` (Debian/Ubuntu) and run again")

// PostgresSettings are the server settings of the throwaway cluster:
// memory sized for the 24 GiB machine, and the settings that let COPY
// into a table created in the same transaction skip the WAL (PostgreSQL's
// fastest load), so that the comparison is with PostgreSQL at its best.
var PostgresSettings = []string{
	"shared_buffers=2GB", "work_mem=256MB", "maintenance_work_mem=1GB", "effective_cache_size=16GB",
	"max_wal_size=8GB", "wal_level=minimal", "max_wal_senders=0", "max_parallel_workers_per_gather=2",
	"listen_addresses=127.0.0.1",
}

// Postgres is a throwaway PostgreSQL cluster in a temporary folder,
// listening on 127.0.0.1 only.
type Postgres struct {
	Version string
	bin     string // folder of initdb, pg_ctl, psql
	dir     string // temporary folder: data/, socket, log
	port    int
	cred    *syscall.Credential // run the server as postgres when we are root
}

// FindPostgres returns the folder of the PostgreSQL server binaries:
// initdb on PATH, else the newest /usr/lib/postgresql/*/bin (15 first).
func FindPostgres() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		if strings.Contains(a, "/15/") {
			return -1
		}
		if strings.Contains(b, "/15/") {
			return 1
		}
		return strings.Compare(b, a)
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

// StartPostgres creates a cluster (initdb) in a new temporary folder and
// starts it on a free port of 127.0.0.1. initdb refuses to run as root, so
// as root the cluster belongs to, and runs as, the postgres user.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin, err := FindPostgres()
	if err != nil {
		return nil, err
	}
	p := &Postgres{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and initdb refuses root: need the postgres user (made by the Debian package): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if p.dir, err = os.MkdirTemp("", "deskpulse-bench-pg-*"); err != nil {
		return nil, err
	}
	if p.cred != nil {
		if err := os.Chown(p.dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			p.Stop()
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.Stop()
		return nil, err
	}
	p.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(p.dir, "data")
	if out, err := p.server(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		p.Stop()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s", p.port, p.dir)
	for _, s := range PostgresSettings {
		opts += " -c " + s
	}
	if out, err := p.server(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(p.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		p.Stop()
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	out, err := p.Query(ctx, "SHOW server_version")
	if err != nil {
		p.Stop()
		return nil, err
	}
	p.Version = strings.TrimSpace(out)
	return p, nil
}

// server runs a server binary as the cluster's owner.
func (p *Postgres) server(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
		cmd.Env = append(os.Environ(), "HOME="+p.dir, "USER=postgres", "LOGNAME=postgres")
	}
	return cmd.CombinedOutput()
}

// Stop stops the server (fast shutdown) and deletes the cluster.
func (p *Postgres) Stop() error {
	var err error
	if p.port != 0 {
		if out, e := p.server(context.Background(), "pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", "fast", "-w", "stop"); e != nil && !bytes.Contains(out, []byte("is not running")) {
			err = fmt.Errorf("pg_ctl stop: %w\n%s", e, out)
		}
	}
	if p.dir != "" {
		if e := os.RemoveAll(p.dir); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// psql runs a script with psql (unaligned, tuples only, '|' between
// columns, stop at the first error) and returns its output.
func (p *Postgres) psql(ctx context.Context, script string) (string, error) {
	psql := filepath.Join(p.bin, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres", "-d", "postgres")
	cmd.Stdin = strings.NewReader(script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("psql: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Query runs SQL and returns psql's output.
func (p *Postgres) Query(ctx context.Context, sql string) (string, error) {
	return p.psql(ctx, sql+";\n")
}

// Timed runs each statement once with \timing and returns the server
// round-trip time of each and the output lines that are not timings.
func (p *Postgres) Timed(ctx context.Context, stmts ...string) ([]time.Duration, []string, error) {
	script := "\\timing on\n"
	for _, s := range stmts {
		script += s + ";\n"
	}
	out, err := p.psql(ctx, script)
	if err != nil {
		return nil, nil, err
	}
	var times []time.Duration
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if rest, ok := strings.CutPrefix(l, "Time: "); ok {
			ms, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("psql timing %q: %w", l, err)
			}
			times = append(times, time.Duration(ms*float64(time.Millisecond)))
		} else if l != "" {
			lines = append(lines, l)
		}
	}
	if len(times) != len(stmts) {
		return nil, nil, fmt.Errorf("psql: %d timings for %d statements:\n%s", len(times), len(stmts), out)
	}
	return times, lines, nil
}

// PGLoad says how long loading the events into PostgreSQL took.
type PGLoad struct {
	Copy  time.Duration // CREATE TABLE + COPY + COMMIT, one transaction
	Index time.Duration // the indexes, VACUUM ANALYZE
	Rows  int64
}

// Load creates the events table and COPYs the CSV into it in the same
// transaction (with wal_level=minimal the table skips the WAL), then builds
// the indexes the KPI queries use and runs VACUUM ANALYZE (so index-only
// scans and the planner's statistics work). The server reads the file
// itself, so it must be readable by the postgres user.
func (p *Postgres) Load(ctx context.Context, csvPath string) (*PGLoad, error) {
	abs, err := filepath.Abs(csvPath)
	if err != nil {
		return nil, err
	}
	times, _, err := p.Timed(ctx, "BEGIN", `CREATE TABLE events (
	seq BIGINT NOT NULL, event_id TEXT NOT NULL, ticket_id TEXT NOT NULL, type TEXT NOT NULL,
	occurred_at TIMESTAMPTZ NOT NULL, actor TEXT NOT NULL, actor_kind TEXT NOT NULL, number BIGINT,
	subject TEXT, description TEXT, requester_name TEXT, requester_email TEXT, ticket_type TEXT,
	priority TEXT, category TEXT, channel TEXT, tags TEXT[], team TEXT, assignee TEXT, status TEXT,
	public BOOLEAN, body TEXT, score INTEGER)`,
		fmt.Sprintf("COPY events (%s) FROM %s (FORMAT csv, HEADER true)", strings.Join(CSVColumns, ", "), store.Literal(abs)),
		"COMMIT")
	if err != nil {
		return nil, fmt.Errorf("COPY into PostgreSQL: %w", err)
	}
	l := &PGLoad{}
	for _, t := range times {
		l.Copy += t
	}
	itimes, _, err := p.Timed(ctx,
		"CREATE INDEX events_type_at ON events (type, occurred_at) INCLUDE (ticket_id)",
		"CREATE INDEX events_ticket_at ON events (ticket_id, occurred_at)",
		"VACUUM ANALYZE events")
	if err != nil {
		return nil, err
	}
	for _, t := range itimes {
		l.Index += t
	}
	n, err := p.Query(ctx, "SELECT count(*) FROM events")
	if err != nil {
		return nil, err
	}
	l.Rows, _ = strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	return l, nil
}

// KPIQuery is one core KPI as SQL over PostgreSQL's events table, with
// the same definition as package metrics (docs/metrics.md).
type KPIQuery struct {
	Name string
	SQL  string
}

// KPIQueries are the core KPIs of the range [from, to) straight from the
// events: each returns one row of numbers rounded to two decimals, like
// metrics.Summary's figures.
func KPIQueries(from, to time.Time) []KPIQuery {
	f, t := pgTime(from), pgTime(to)
	in := func(col string) string { return fmt.Sprintf("%s >= %s AND %s < %s", col, f, col, t) }
	stats := func(expr string) string {
		return fmt.Sprintf(`count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY %[1]s)::numeric, 2),
	round(percentile_cont(0.9) WITHIN GROUP (ORDER BY %[1]s)::numeric, 2)`, expr)
	}
	reply := "type = 'commented' AND public AND actor_kind = 'agent'"
	return []KPIQuery{
		{"tickets_created", fmt.Sprintf(`SELECT count(*) FROM events WHERE type = 'created' AND %s`, in("occurred_at"))},
		{"tickets_resolved", fmt.Sprintf(`SELECT count(DISTINCT ticket_id) FROM events WHERE type = 'resolved' AND %s`, in("occurred_at"))},
		// created before to, minus the tickets whose last resolution,
		// close or reopen before to is not a reopen
		{"backlog", fmt.Sprintf(`SELECT (SELECT count(*) FROM events WHERE type = 'created' AND occurred_at < %[1]s)
	- (SELECT count(*) FROM (SELECT DISTINCT ON (ticket_id) ticket_id, type FROM events
		WHERE type IN ('resolved', 'closed', 'reopened') AND occurred_at < %[1]s
		ORDER BY ticket_id, occurred_at DESC, seq DESC) last WHERE type <> 'reopened')`, t)},
		// created -> first public agent comment, counted where the reply is
		{"first_response_minutes", fmt.Sprintf(`WITH cand AS (SELECT DISTINCT ticket_id FROM events WHERE %[1]s AND %[2]s),
	fr AS (SELECT e.ticket_id, min(e.occurred_at) AS at FROM events e JOIN cand USING (ticket_id) WHERE e.%[5]s GROUP BY e.ticket_id)
SELECT %[3]s FROM fr JOIN events c ON c.ticket_id = fr.ticket_id AND c.type = 'created' WHERE %[4]s`,
			reply, in("occurred_at"), stats("extract(epoch FROM fr.at - c.occurred_at) / 60.0"), in("fr.at"),
			strings.ReplaceAll(reply, " AND ", " AND e."))},
		// created -> first resolution, counted where it is
		{"first_resolution_minutes", fmt.Sprintf(`WITH cand AS (SELECT DISTINCT ticket_id FROM events WHERE type = 'resolved' AND %[1]s),
	fr AS (SELECT e.ticket_id, min(e.occurred_at) AS at FROM events e JOIN cand USING (ticket_id) WHERE e.type = 'resolved' GROUP BY e.ticket_id)
SELECT %[2]s FROM fr JOIN events c ON c.ticket_id = fr.ticket_id AND c.type = 'created' WHERE %[3]s`,
			in("occurred_at"), stats("extract(epoch FROM fr.at - c.occurred_at) / 60.0"), in("fr.at"))},
		// the latest rating of each ticket, counted where it was given
		{"csat", fmt.Sprintf(`WITH last AS (SELECT DISTINCT ON (ticket_id) ticket_id, occurred_at, score FROM events
	WHERE type = 'csat_rated' AND ticket_id IN (SELECT ticket_id FROM events WHERE type = 'csat_rated' AND %[1]s)
	ORDER BY ticket_id, occurred_at DESC, seq DESC)
SELECT count(*), count(*) FILTER (WHERE score >= 4) FROM last WHERE %[2]s`, in("occurred_at"), in("occurred_at"))},
	}
}

func pgTime(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}
