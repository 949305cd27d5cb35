package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// loggedServer is a `deskpulse serve` child whose info log lines are
// watched for the automation's progress.
type loggedServer struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	log []string
}

// startLoggedServer runs `deskpulse serve` (the default rules of
// config.yaml: acknowledge-new-tickets, reply notifications) with an SMTP
// server that refuses connections, so that the outbox only fills.
func startLoggedServer(t *testing.T, db, addr string) *loggedServer {
	t.Helper()
	s := &loggedServer{cmd: childCommand(context.Background(), "serve", "--db", db, "--addr", addr, "--config", "../../config.yaml")}
	s.cmd.Env = append(s.cmd.Env, "DESKPULSE_DEMO_ON_EMPTY=false", "DESKPULSE_LOG_LEVEL=info", "DESKPULSE_ADMIN_TOKEN="+testToken,
		"DESKPULSE_SMTP_HOST=127.0.0.1", "DESKPULSE_SMTP_PORT=1")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log = append(s.log, sc.Text())
			s.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	waitReady(t, addr, s.cmd)
	return s
}

// waitLog waits until a log line contains text; false after timeout.
func (s *loggedServer) waitLog(text string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, l := range s.log {
			if strings.Contains(l, text) {
				s.mu.Unlock()
				return true
			}
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// tail is the last n log lines (for a failure's message).
func (s *loggedServer) tail(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log[max(0, len(s.log)-n):], "\n")
}

func (s *loggedServer) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// stop sends SIGTERM and returns how long the process took to exit.
func (s *loggedServer) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server did not stop cleanly on SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		t.Fatal("server still running 60 s after SIGTERM")
	}
	return time.Since(start)
}

// TestKillDuringAutomationCatchUpActsExactlyOnce drives tickets and
// public replies through the API while killing the server with SIGKILL
// five times, the later ones while the rules engine catches up on the
// events the previous run left, then lets it finish. Every ticket must
// have exactly one acknowledgement e-mail (rule acknowledge-new-tickets)
// and one "e-mail queued" note, and every public agent reply exactly one
// reply e-mail: no effect lost, none repeated.
func TestKillDuringAutomationCatchUpActsExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	db := filepath.Join(t.TempDir(), "crash.duckdb")
	addr := freeAddr(t)
	base := "http://" + addr + "/api/v1"
	client := &http.Client{Timeout: 5 * time.Second, Transport: authorized{&http.Transport{MaxIdleConnsPerHost: 32}}}
	post := func(path, body string) (int, string) {
		resp, err := client.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			time.Sleep(20 * time.Millisecond) // the server is down for a moment
			return 0, ""
		}
		defer resp.Body.Close()
		var out struct{ ID string }
		raw, _ := io.ReadAll(resp.Body)
		json.Unmarshal(raw, &out)
		return resp.StatusCode, out.ID
	}

	const maxTickets = 400 // a bounded load: the test takes about 20 s
	var created atomic.Int64
	var stopLoad atomic.Bool
	var load sync.WaitGroup
	for c := range 24 {
		load.Go(func() {
			for n := 0; !stopLoad.Load() && created.Load() < maxTickets; n++ {
				code, id := post("/tickets", fmt.Sprintf(`{"subject":"client %d ticket %d","requester_email":"c%d.%d@example.com"}`, c, n, c, n))
				if code != 201 {
					continue
				}
				created.Add(1)
				for range 2 {
					post("/tickets/"+id+"/comments", `{"body":"We are on it."}`)
				}
			}
		})
	}

	catchUps := 0
	for round := range 5 {
		srv := startLoggedServer(t, db, addr)
		if round == 0 {
			for created.Load() < maxTickets/4 {
				time.Sleep(5 * time.Millisecond)
			}
		} else if srv.waitLog("catching up", 5*time.Second) {
			catchUps++
			time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond) // into the catch-up
		}
		srv.kill()
	}
	stopLoad.Store(true)
	load.Wait()
	if catchUps < 3 {
		t.Fatalf("only %d of the 4 restarts had a catch-up to kill", catchUps)
	}

	srv := startLoggedServer(t, db, addr)
	if !srv.waitLog("automation: caught up", 60*time.Second) {
		t.Log("no end of the catch-up logged; counting what is there")
	}
	time.Sleep(500 * time.Millisecond) // the notes the last catch-up's rules wrote
	srv.stop(t)

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	type count struct {
		tickets, replies, ackMails, replyMails, notes int
	}
	var c count
	rows, err := st.DB.Query(`WITH
		r AS (SELECT ticket_id, count(*) AS n FROM events WHERE type = 'commented' AND public AND actor_kind = 'agent' GROUP BY ticket_id),
		a AS (SELECT ticket_id, count(*) AS n FROM mail_outbox WHERE template = 'ticket_created' GROUP BY ticket_id),
		m AS (SELECT ticket_id, count(*) AS n FROM mail_outbox WHERE template = 'reply' GROUP BY ticket_id),
		q AS (SELECT ticket_id, count(*) AS n FROM events WHERE type = 'commented' AND actor = 'rule:acknowledge-new-tickets'
			AND body LIKE '%e-mail to the requester queued%' GROUP BY ticket_id)
		SELECT t.number, coalesce(r.n, 0), coalesce(a.n, 0), coalesce(m.n, 0), coalesce(q.n, 0)
		FROM tickets t LEFT JOIN r ON r.ticket_id = t.id LEFT JOIN a ON a.ticket_id = t.id
			LEFT JOIN m ON m.ticket_id = t.id LEFT JOIN q ON q.ticket_id = t.id ORDER BY t.number`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var wrong []string
	for rows.Next() {
		var number int64
		var replies, ack, replyMails, notes int
		if err := rows.Scan(&number, &replies, &ack, &replyMails, &notes); err != nil {
			t.Fatal(err)
		}
		c.tickets++
		c.replies += replies
		c.ackMails += ack
		c.replyMails += replyMails
		c.notes += notes
		if ack != 1 || notes != 1 || replyMails != replies {
			wrong = append(wrong, fmt.Sprintf("#%d: %d acknowledgements, %d notes, %d reply mails for %d replies", number, ack, notes, replyMails, replies))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d tickets, %d replies, %d acknowledgements, %d reply mails, %d notes after 5 SIGKILLs (%d in a catch-up)",
		c.tickets, c.replies, c.ackMails, c.replyMails, c.notes, catchUps)
	if c.tickets < maxTickets/4 {
		t.Fatalf("only %d tickets stored", c.tickets)
	}
	if len(wrong) > 0 {
		t.Fatalf("%d of %d tickets not acted on exactly once, e.g. %s", len(wrong), c.tickets, strings.Join(wrong[:min(5, len(wrong))], "; "))
	}
}

// TestSIGTERMDuringCatchUpStopsAndResumes: with 400 new tickets stored
// while deskpulse was down, the next start's catch-up (an acknowledgement
// each) is stopped by SIGTERM: the process exits within 10 s, having
// saved how far it got, and the start after goes on from there: every
// ticket ends with exactly one acknowledgement.
func TestSIGTERMDuringCatchUpStopsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "term.duckdb")
	addr := freeAddr(t)
	srv := startLoggedServer(t, db, addr)
	if code, _ := postAs(t, "http://"+addr+"/api/v1/tickets", `{"subject":"first","requester_email":"first@example.com"}`); code != 201 {
		t.Fatalf("create: %d", code)
	}
	time.Sleep(300 * time.Millisecond)
	srv.stop(t)

	const backlog = 400
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for c := range 32 {
		wg.Go(func() {
			for n := c; n < backlog; n += 32 {
				_, err := w.Do(ctx, &ingest.CreateTicket{Actor: model.Actor{Name: "api", Kind: model.ActorSystem},
					Subject: fmt.Sprintf("backlog %d", n), RequesterEmail: fmt.Sprintf("b%d@example.com", n)})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	cursorBefore := automationCursor(t, st)
	maxSeq, _ := st.MaxSeq(ctx)
	w.Close()
	st.Close()
	if t.Failed() {
		t.FailNow()
	}

	srv = startLoggedServer(t, db, addr)
	if !srv.waitLog("catching up", 10*time.Second) {
		t.Fatal("no catch-up started")
	}
	time.Sleep(1000 * time.Millisecond)
	took := srv.stop(t)
	t.Logf("SIGTERM during the catch-up: exited after %v", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Fatalf("exited %v after SIGTERM, want within 10 s", took)
	}

	st, err = store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cursor, acks := automationCursor(t, st), countAcks(t, st.DB)
	st.Close()
	t.Logf("cursor %d -> %d of %d; %d of %d acknowledgements queued", cursorBefore, cursor, maxSeq, acks, backlog+1)
	if cursor <= cursorBefore || cursor >= maxSeq || acks <= 1 || acks >= backlog+1 {
		t.Fatalf("the stopped catch-up should have saved its progress part way: cursor %d (from %d, events up to %d), %d acknowledgements", cursor, cursorBefore, maxSeq, acks)
	}

	srv = startLoggedServer(t, db, addr)
	if !srv.waitLog("automation: caught up", 90*time.Second) {
		t.Fatalf("the next start did not finish the catch-up:\n%s", srv.tail(20))
	}
	srv.stop(t)
	st, err = store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tickets, once int
	if err := st.DB.QueryRow(`SELECT count(*), count(*) FILTER (n = 1) FROM (
			SELECT t.id, count(o.id) AS n FROM tickets t LEFT JOIN mail_outbox o ON o.ticket_id = t.id AND o.template = 'ticket_created' GROUP BY t.id)`).Scan(&tickets, &once); err != nil {
		t.Fatal(err)
	}
	if tickets != backlog+1 || once != tickets || countAcks(t, st.DB) != tickets {
		t.Fatalf("%d tickets, %d with exactly one acknowledgement, %d acknowledgements in all", tickets, once, countAcks(t, st.DB))
	}
}

func postAs(t *testing.T, url, body string) (int, error) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func automationCursor(t *testing.T, st *store.Store) int64 {
	t.Helper()
	var v string
	if err := st.DB.QueryRow(`SELECT value FROM automation_state WHERE key = 'cursor'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	var n int64
	fmt.Sscan(v, &n)
	return n
}

func countAcks(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM mail_outbox WHERE template = 'ticket_created'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
