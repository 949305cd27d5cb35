package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestClientIPReadsForwardedForOnlyFromTrustedProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies([]string{"127.0.0.1", "10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		trusted TrustedProxies
		peer    string
		xff     []string // one X-Forwarded-For header per entry
		want    string
	}{
		{"no proxies trusted: the header is ignored", nil, "127.0.0.1:4000", []string{"198.51.100.1"}, "127.0.0.1"},
		{"an untrusted peer cannot name another client", proxies, "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted proxy, no header", proxies, "127.0.0.1:4000", nil, "127.0.0.1"},
		{"trusted proxy names the client", proxies, "127.0.0.1:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a client-written entry on the left is not believed", proxies, "127.0.0.1:4000", []string{"192.0.2.66, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies is walked", proxies, "127.0.0.1:4000", []string{"198.51.100.1, 10.1.2.3, 10.9.9.9"}, "198.51.100.1"},
		{"several headers read as one list", proxies, "127.0.0.1:4000", []string{"192.0.2.66", "198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"all trusted: the left-most", proxies, "127.0.0.1:4000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"garbage stops the walk at the last proxy", proxies, "127.0.0.1:4000", []string{"198.51.100.1, not-an-ip"}, "127.0.0.1"},
		{"an entry with a port", proxies, "127.0.0.1:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"IPv6 peer and client", proxies, "[::1]:4000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped IPv6 peer", proxies, "[::ffff:10.0.0.1]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.trusted.clientIP(r); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestParseTrustedProxiesRefusesWhatIsNotAnAddress(t *testing.T) {
	for _, bad := range []string{"localhost", "10.0.0.0/33", "10.0.0", "*"} {
		_, err := ParseTrustedProxies([]string{"127.0.0.1", bad})
		if err == nil || !strings.Contains(err.Error(), "auth.trusted_proxies: \""+bad+"\"") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSafeNextKeepsOnlyCleanLocalPaths(t *testing.T) {
	hostile := []string{
		"", "evil.example", "https://evil.example/", "//evil.example/", "///evil.example",
		"/\t/evil.example/", "/\n/evil.example/", "/\r/evil.example/", "/ /evil.example/", "/\x00/evil.example",
		"/\\evil.example", "\\/evil.example", "/\\/evil.example", "/a/..//evil.example",
		"/\u3000/evil.example", "/\x7f/evil.example", " /tickets", "/tickets ", "javascript:alert(1)",
		"/tickets?next=//evil.example", "/%zz",
	}
	for _, next := range hostile {
		if got := safeNext(next); got != "/" {
			t.Errorf("safeNext(%q) = %q, want /", next, got)
		}
	}
	for _, next := range []string{"/", "/dashboards/volume", "/tickets/12?tab=events", "/api/v1/tickets?limit=1&q=a%20b", "/%09/x"} {
		if got := safeNext(next); got != next {
			t.Errorf("safeNext(%q) = %q, want it kept", next, got)
		}
	}
}
