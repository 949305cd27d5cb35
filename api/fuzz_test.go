package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDecodeRequest feeds arbitrary bodies to the strict JSON decoder of
// the ticket API: it must never panic, and every refusal must be a 400,
// 413 or 415 with a message.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"subject":"VPN down","priority":"high","tags":["vpn"],"custom_fields":{"site":"Berlin"}}`,
		`{"subject":`, `{"subject":"x","colour":"red"}`, `{"tags":"a"}`, `[]`, `null`, `{"subject":"x"} {}`,
		`{"custom_fields":{"a":1}}`, "\xef\xbb\xbf{}", `{"subject":"\ud800"}`,
	} {
		f.Add([]byte(seed), "application/json")
	}
	f.Add([]byte(`subject=x`), "text/plain")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := httptest.NewRequest("POST", "/api/v1/tickets", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		var in createTicketInput
		err := decode(httptest.NewRecorder(), req, &in, false)
		if err == nil {
			return
		}
		var apiErr *Error
		if !errors.As(err, &apiErr) || apiErr.Message == "" {
			t.Fatalf("unexpected error %T %v", err, err)
		}
		switch apiErr.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("status %d for %q", apiErr.Status, body)
		}
	})
}
