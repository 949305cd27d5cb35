package portal

import (
	"context"
	"net/http"
	"time"
)

type upload struct{}

// Attachment is a stored file's metadata.
type Attachment struct {
	ID, TicketID, SHA256, Filename, ContentType, UploadedBy string
	Size                                                    int64
	CreatedAt                                               time.Time
}

// uploads reads the attachments of a form (not yet supported).
func (p *Portal) uploads(r *http.Request) ([]upload, string) { return nil, "" }

func (p *Portal) saveUploads(ctx context.Context, ticketID, by string, ups []upload) error { return nil }

func (p *Portal) attachments(ctx context.Context, ticketID string) ([]*Attachment, error) { return nil, nil }

func (p *Portal) registerAttachments(mux *http.ServeMux) {}
