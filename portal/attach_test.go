package portal

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/model"
)

func multipartPost(t *testing.T, url string, fields map[string]string, files map[string][]byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, data := range files {
		fw, _ := mw.CreateFormFile("attachments", name)
		fw.Write(data)
	}
	mw.Close()
	resp, err := http.Post(url, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url, bearer string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAttachments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fields := map[string]string{"email": "ann@example.com", "subject": "s", "description": "d"}

	// The type is sniffed: HTML named .txt is refused, whatever the browser says.
	code, body := multipartPost(t, e.base+"/support/new", fields, map[string][]byte{"notes.txt": []byte("<html><script>alert(1)</script>")})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "text/html") {
		t.Fatalf("html upload: %d", code)
	}
	code, _ = multipartPost(t, e.base+"/support/new", fields, map[string][]byte{"big.txt": bytes.Repeat([]byte("a"), MaxAttachment+1)})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("too large: %d", code)
	}
	code, body = multipartPost(t, e.base+"/support/new", fields, map[string][]byte{`..\..\evil"name.txt`: []byte("hello\n"), "b.txt": []byte("hello\n")})
	m := linkRE.FindStringSubmatch(body)
	if code != http.StatusCreated || m == nil {
		t.Fatalf("create: %d %s", code, body)
	}
	tk, _ := e.st.Ticket(ctx, "1")
	atts, err := e.p.attachments(ctx, tk.ID)
	if err != nil || len(atts) != 2 {
		t.Fatalf("attachments %v %v", atts, err)
	}
	a := atts[0]
	if atts[1].Filename == "b.txt" {
		a = atts[0]
	} else {
		a = atts[1]
	}
	if a.SHA256 != atts[0].SHA256 || a.ContentType != "text/plain; charset=utf-8" || strings.ContainsAny(a.Filename, `"\/`) {
		t.Fatalf("metadata %+v", a)
	}
	// Stored once by content hash under the data folder.
	dir := filepath.Join(filepath.Dir(e.st.Path()), "attachments", a.SHA256[:2])
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != a.SHA256 {
		t.Fatalf("blobs in %s: %v", dir, entries)
	}

	// Another ticket's link does not open the file.
	_, body = multipartPost(t, e.base+"/support/new", fields, nil)
	other := linkRE.FindStringSubmatch(body)[1]
	if r := get(t, e.base+other+"/a/"+a.ID, ""); r.StatusCode != 404 {
		t.Fatalf("other link: %s", r.Status)
	}
	if r := get(t, e.base+m[1]+"/a/"+a.ID, ""); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("own link: %s %v", r.Status, r.Header)
	}
	// Staff: signed in with the tickets permission.
	if r := get(t, e.base+"/support/attachments/"+a.ID, ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("anonymous staff route: %s", r.Status)
	}
	analyst, err := e.auth.AddUser(ctx, "test", &model.User{Email: "ana@example.com", Name: "Ana", Role: model.RoleAnalyst})
	if err != nil {
		t.Fatal(err)
	}
	agent, _ := e.auth.AddUser(ctx, "test", &model.User{Email: "bob@example.com", Name: "Bob", Role: model.RoleAgent})
	if r := get(t, e.base+"/support/attachments/"+a.ID, analyst); r.StatusCode != http.StatusForbidden {
		t.Fatalf("analyst: %s", r.Status)
	}
	if r := get(t, e.base+"/support/attachments/"+a.ID, agent); r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("agent: %s %v", r.Status, r.Header)
	}
}

// TestAttachmentKeepsSandboxPolicy: a served attachment, through the real
// gate, carries its own policy (no scripts, no plugins, a sandboxed
// origin) and not the page policy, on the requester's link and on the
// staff route alike.
func TestAttachmentKeepsSandboxPolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fields := map[string]string{"email": "ann@example.com", "subject": "s", "description": "d"}
	code, body := multipartPost(t, e.base+"/support/new", fields, map[string][]byte{"notes.txt": []byte("hello\n")})
	link := linkRE.FindStringSubmatch(body)
	if code != http.StatusCreated || link == nil {
		t.Fatalf("create: %d %s", code, body)
	}
	tk, _ := e.st.Ticket(ctx, "1")
	atts, err := e.p.attachments(ctx, tk.ID)
	if err != nil || len(atts) != 1 {
		t.Fatalf("attachments %v %v", atts, err)
	}
	agent, _ := e.auth.AddUser(ctx, "test", &model.User{Email: "bob@example.com", Name: "Bob", Role: model.RoleAgent})
	for _, c := range []struct{ url, bearer string }{
		{e.base + link[1] + "/a/" + atts[0].ID, ""},
		{e.base + "/support/attachments/" + atts[0].ID, agent},
	} {
		r := get(t, c.url, c.bearer)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %s", c.url, r.Status)
		}
		if csp := r.Header.Values("Content-Security-Policy"); len(csp) != 1 || csp[0] != "default-src 'none'; sandbox" {
			t.Errorf("%s: Content-Security-Policy %q, want only \"default-src 'none'; sandbox\"", c.url, csp)
		}
	}
}
