package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the reverse proxies (config auth.trusted_proxies)
// whose X-Forwarded-For is believed. Anyone else may write anything there,
// so for them the header is ignored.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads a list of IP addresses and CIDR ranges.
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("auth.trusted_proxies: %q is neither an IP address nor a CIDR range such as 10.0.0.0/8", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (t TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the address a request came from: the direct peer, unless
// that is a trusted proxy; then X-Forwarded-For is read from the right
// (each proxy appends the address it received from) and the first address
// that is not a trusted proxy is the client. Entries further left were
// written by the client and prove nothing.
func (t TrustedProxies) clientIP(r *http.Request) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	addr, err := netip.ParseAddr(peer)
	if err != nil || !t.trusts(addr) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := addr.Unmap()
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := forwardedAddr(hops[i])
		if !ok {
			break // garbage from here on: the last proxy's word is all we have
		}
		client = hop
		if !t.trusts(hop) {
			break
		}
	}
	return client.String()
}

// forwardedAddr reads one X-Forwarded-For entry: an IP, possibly with a
// port (1.2.3.4:5678, [::1]:5678).
func forwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

type clientIPKey struct{}

// ClientIP is the address a request came from, for rate limits and logs:
// as the Gate worked it out (see TrustedProxies), else the direct peer.
func ClientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func withClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}
