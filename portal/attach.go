package portal

import (
	"context"
	"net/http"
)

type upload struct{}

// uploads reads the attachments of a form (not yet supported).
func (p *Portal) uploads(r *http.Request) ([]upload, string) { return nil, "" }

func (p *Portal) saveUploads(ctx context.Context, ticketID, by string, ups []upload) error {
	return nil
}
