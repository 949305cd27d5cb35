package portal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

// Attachment limits: per file, files per post, and the types accepted,
// as sniffed from the content (the name and the browser's claim are
// never trusted).
const (
	MaxAttachment  = 5 << 20
	MaxAttachments = 5
)

var allowedTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true,
	"application/pdf": true, "text/plain": true, "application/zip": true, "application/x-gzip": true,
}

// Attachment is a stored file's metadata; the bytes live on disk under
// the attachments folder, named by their SHA-256 (identical files are
// stored once).
type Attachment struct {
	ID, TicketID, SHA256, Filename, ContentType, UploadedBy string
	Size                                                    int64
	CreatedAt                                               time.Time
}

type upload struct {
	name, ctype string
	data        []byte
}

// uploads reads and checks the files of a multipart form; the second
// result is the problem to show the requester.
func (p *Portal) uploads(r *http.Request) ([]upload, string) {
	if r.MultipartForm == nil {
		return nil, ""
	}
	var out []upload
	for _, fh := range r.MultipartForm.File["attachments"] {
		if fh.Filename == "" && fh.Size == 0 { // the empty part of an unused file input
			continue
		}
		if len(out) == MaxAttachments {
			return nil, fmt.Sprintf("Please attach at most %d files.", MaxAttachments)
		}
		name := cleanName(fh.Filename)
		if fh.Size > MaxAttachment {
			return nil, fmt.Sprintf("%s is larger than %d MB.", name, MaxAttachment>>20)
		}
		f, err := fh.Open()
		if err != nil {
			return nil, "The attachments could not be read."
		}
		data, err := io.ReadAll(io.LimitReader(f, MaxAttachment+1))
		f.Close()
		if err != nil || len(data) > MaxAttachment {
			return nil, "The attachments could not be read."
		}
		u, problem := checkFile(name, data)
		if problem != "" {
			return nil, problem
		}
		out = append(out, u)
	}
	return out, ""
}

// checkFile sniffs a file's type and refuses an empty one or one of a
// type not accepted; the second result is the problem to show.
func checkFile(name string, data []byte) (upload, string) {
	if len(data) == 0 {
		return upload{}, name + " is empty."
	}
	ctype := http.DetectContentType(data)
	base, _, _ := mime.ParseMediaType(ctype)
	if !allowedTypes[base] {
		return upload{}, fmt.Sprintf("%s: files of this type (%s) are not accepted; please send images, PDF, plain text or ZIP.", name, base)
	}
	return upload{name: name, ctype: ctype, data: data}, ""
}

// SaveAttachment keeps one file of a ticket that came another way than
// the form (inbound e-mail, package mailin), under the form's rules: at
// most MaxAttachment bytes, type sniffed and one of those accepted.
func (p *Portal) SaveAttachment(ctx context.Context, ticketID, by, filename string, data []byte) error {
	name := cleanName(filename)
	if len(data) > MaxAttachment {
		return fmt.Errorf("%s is larger than %d MB", name, MaxAttachment>>20)
	}
	u, problem := checkFile(name, data)
	if problem != "" {
		return errors.New(problem)
	}
	return p.saveUploads(ctx, ticketID, by, []upload{u})
}

// CountAttachments is how many files a ticket has (inbound mail caps
// them per ticket).
func (p *Portal) CountAttachments(ctx context.Context, ticketID string) (int, error) {
	var n int
	err := p.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM attachments WHERE ticket_id = ?`, ticketID).Scan(&n)
	return n, err
}

// cleanName keeps a file name displayable and harmless in headers.
func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 150 {
		name = string(r[len(r)-150:])
	}
	if name == "" || name == "." || name == "/" {
		name = "attachment"
	}
	return name
}

// folder is where files are stored, created on first use.
func (p *Portal) folder() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dir == "" {
		d, err := os.MkdirTemp("", "deskpulse-attachments-")
		if err != nil {
			return "", err
		}
		p.dir = d
	}
	return p.dir, os.MkdirAll(p.dir, 0o750)
}

func (p *Portal) blobPath(dir, sum string) string { return filepath.Join(dir, sum[:2], sum) }

// saveUploads writes the files (once per content) and their metadata.
func (p *Portal) saveUploads(ctx context.Context, ticketID, by string, ups []upload) error {
	if len(ups) == 0 {
		return nil
	}
	dir, err := p.folder()
	if err != nil {
		return err
	}
	for _, u := range ups {
		s := sha256.Sum256(u.data)
		sum := hex.EncodeToString(s[:])
		path := p.blobPath(dir, sum)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return err
			}
			tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
			if err != nil {
				return err
			}
			_, werr := tmp.Write(u.data)
			if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
				os.Remove(tmp.Name())
				return err
			}
			if err := os.Rename(tmp.Name(), path); err != nil {
				return err
			}
		}
		_, err = p.st.DB.ExecContext(ctx, `INSERT INTO attachments (id, ticket_id, sha256, filename, content_type, size, uploaded_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, model.NewID(), ticketID, sum, u.name, u.ctype, len(u.data), by, p.Now().UTC())
		if err != nil {
			return err
		}
	}
	return nil
}

const attachmentColumns = `id, ticket_id, sha256, filename, content_type, size, uploaded_by, created_at`

func scanAttachment(row interface{ Scan(...any) error }) (*Attachment, error) {
	a := &Attachment{}
	err := row.Scan(&a.ID, &a.TicketID, &a.SHA256, &a.Filename, &a.ContentType, &a.Size, &a.UploadedBy, &a.CreatedAt)
	return a, err
}

// Attachments lists a ticket's files, oldest first.
func (p *Portal) attachments(ctx context.Context, ticketID string) ([]*Attachment, error) {
	rows, err := p.st.DB.QueryContext(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE ticket_id = ? ORDER BY created_at, id`, ticketID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (p *Portal) attachment(ctx context.Context, id string) (*Attachment, error) {
	a, err := scanAttachment(p.st.DB.QueryRowContext(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.ErrNotFound
	}
	return a, err
}

// registerAttachments adds the two ways to a file: through the ticket's
// status link (the requester), and for signed-in users allowed to work
// tickets (/support/attachments/{id}; the route is public in the gate's
// policy, so the check is here).
func (p *Portal) registerAttachments(routes *route.Table) {
	routes.Func("GET", "/support/t/{token}/a/{id}", route.Anyone, "an attachment, on the requester's status link", func(w http.ResponseWriter, r *http.Request) {
		ticket, err := p.ticketOf(r.Context(), r.PathValue("token"))
		p.serveAttachment(w, r, ticket, err)
	})
	routes.Func("GET", "/support/attachments/{id}", route.Anyone, "an attachment, for staff", func(w http.ResponseWriter, r *http.Request) {
		u := auth.UserFrom(r.Context())
		if u == nil {
			http.Redirect(w, r, "/signin?next="+r.URL.EscapedPath(), http.StatusSeeOther)
			return
		}
		if !u.Role.Can(model.PermTickets) {
			http.Error(w, "the "+string(u.Role)+" role may not see ticket files", http.StatusForbidden)
			return
		}
		p.serveAttachment(w, r, "", nil)
	})
}

// serveAttachment sends a file of ticket ("" for any ticket) as a
// download, with the type sniffed when it was stored.
func (p *Portal) serveAttachment(w http.ResponseWriter, r *http.Request, ticket string, err error) {
	var a *Attachment
	if err == nil {
		a, err = p.attachment(r.Context(), r.PathValue("id"))
	}
	if err == nil && ticket != "" && a.TicketID != ticket {
		err = model.ErrNotFound
	}
	var f *os.File
	if err == nil {
		var dir string
		if dir, err = p.folder(); err == nil {
			f, err = os.Open(p.blobPath(dir, a.SHA256))
		}
	}
	if errors.Is(err, model.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		slog.Error("portal: attachment", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	h := w.Header()
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})
	if disp == "" {
		disp = "attachment"
	}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	io.Copy(w, f)
}
