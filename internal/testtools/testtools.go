// Package testtools starts and reads the real outside programs that
// deskpulse's tests use: it finds a tool (skipping without it, failing
// under CI, where `make test-deps` installs everything) and runs mailpit,
// a real SMTP server on 127.0.0.1 whose HTTP API returns what it received.
package testtools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Need finds the first of names on PATH or where `go install` puts
// binaries. Without it the test is skipped with the reason, except under
// CI, where it fails.
func Need(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		dirs := []string{os.Getenv("GOBIN")}
		if gp := os.Getenv("GOPATH"); gp != "" {
			dirs = append(dirs, filepath.Join(filepath.SplitList(gp)[0], "bin"))
		}
		if home, err := os.UserHomeDir(); err == nil {
			dirs = append(dirs, filepath.Join(home, "go", "bin"))
		}
		for _, d := range dirs {
			if d == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(d, n)); err == nil {
				return filepath.Join(d, n)
			}
		}
	}
	msg := "this test needs " + names[0] + " (make test-deps installs it)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Mailpit is a running mailpit: SMTP on SMTPPort (any login accepted,
// also without TLS), its API for reading the mail back.
type Mailpit struct {
	SMTPPort int
	api      string
}

// StartMailpit runs mailpit for the test and waits until both its SMTP
// port and its API answer.
func StartMailpit(t testing.TB) *Mailpit {
	t.Helper()
	bin := Need(t, "mailpit")
	smtpPort, httpPort := FreePort(t), FreePort(t)
	cmd := exec.Command(bin, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"), "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--disable-version-check", "--quiet")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	m := &Mailpit{SMTPPort: smtpPort, api: fmt.Sprintf("http://127.0.0.1:%d/api/v1", httpPort)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(m.api + "/messages"); err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", smtpPort)); err == nil {
				c.Close()
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Summary is a message in mailpit's list, newest first.
type Summary struct {
	ID      string
	Subject string
}

// Message is one received message with its parts.
type Message struct {
	ID          string
	MessageID   string
	Subject     string
	To          []struct{ Address string }
	HTML, Text  string
	Attachments []struct {
		PartID, FileName, ContentType string
		Size                          int
	}
}

func (m *Mailpit) get(t testing.TB, path string, out any) {
	t.Helper()
	resp, err := http.Get(m.api + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// Messages lists what mailpit holds, newest first.
func (m *Mailpit) Messages(t testing.TB) []Summary {
	t.Helper()
	var out struct{ Messages []Summary }
	m.get(t, "/messages", &out)
	return out.Messages
}

// Message returns one message in full.
func (m *Mailpit) Message(t testing.TB, id string) *Message {
	t.Helper()
	var out Message
	m.get(t, "/message/"+id, &out)
	return &out
}

// Headers returns a message's header fields as received, e.g.
// "In-Reply-To" -> ["<id@host>"].
func (m *Mailpit) Headers(t testing.TB, id string) map[string][]string {
	t.Helper()
	var out map[string][]string
	m.get(t, "/message/"+id+"/headers", &out)
	return out
}

// Part returns the bytes of one part (an attachment) of a message.
func (m *Mailpit) Part(t testing.TB, id, part string) []byte {
	t.Helper()
	resp, err := http.Get(m.api + "/message/" + id + "/part/" + part)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return data
}

// Wait waits until mailpit holds at least n messages, then a moment more
// so that an unexpected extra one would be seen, and lists them.
func (m *Mailpit) Wait(t testing.TB, n int) []Summary {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		msgs := m.Messages(t)
		if len(msgs) >= n {
			time.Sleep(300 * time.Millisecond)
			return m.Messages(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages arrived, want %d", len(msgs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitFull is Wait returning the messages in full, oldest first.
func (m *Mailpit) WaitFull(t testing.TB, n int) []*Message {
	t.Helper()
	list := m.Wait(t, n)
	out := make([]*Message, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, m.Message(t, list[i].ID))
	}
	return out
}
