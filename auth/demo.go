package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// The demo sign-in lets someone trying deskpulse on their own machine see
// the dashboards with one click. It signs in as a manager (never an
// admin), and only while all of these hold:
//   - config demo.signin is on and the server listens on loopback (the
//     Gate's Demo func, set by the caller);
//   - the demo history was written into this store (store.FlagDemoData,
//     set by ingest.LoadDemo and nothing else);
//   - no other user has signed in or used a token yet
//     (store.FlagRealSignIn);
//   - the request came straight to the loopback listener (directLoopback).

// DemoEmail is the demo manager's address.
const DemoEmail = "demo.manager@deskpulse.example"

// DemoOpen says whether this store still offers the demo sign-in: it holds
// demo data and no real user has signed in.
func (s *Service) DemoOpen(ctx context.Context) (bool, error) {
	if s.realUserSeen.Load() {
		return false, nil
	}
	real, err := s.store.Flag(ctx, store.FlagRealSignIn)
	if err != nil || real {
		s.realUserSeen.Store(real)
		return false, err
	}
	return s.store.HasDemoData(ctx)
}

// noteRealUser ends the demo sign-in for good the first time a user other
// than the demo manager signs in or uses a token, and signs the demo
// manager's browsers out.
func (s *Service) noteRealUser(ctx context.Context, u *model.User) error {
	if u.Email == DemoEmail || s.realUserSeen.Load() {
		return nil
	}
	if err := s.store.SetFlag(ctx, store.FlagRealSignIn, u.Email, s.now().UTC()); err != nil {
		return err
	}
	if err := s.store.DeleteSessionsOf(ctx, DemoEmail); err != nil {
		return err
	}
	s.realUserSeen.Store(true)
	return nil
}

// DemoUser returns (creating it if needed) the demo manager.
func (s *Service) DemoUser(ctx context.Context) (*model.User, error) {
	u, _, err := s.store.User(ctx, DemoEmail)
	if errors.Is(err, model.ErrNotFound) {
		u = &model.User{Email: DemoEmail, Name: "Demo manager", Role: model.RoleManager, CreatedAt: s.now().UTC()}
		if err = s.store.CreateUser(ctx, u); err == nil {
			s.audit(ctx, "system", "user.created", DemoEmail, "demo sign-in")
		}
	}
	if err == nil && u.Role != model.RoleManager {
		return nil, fmt.Errorf("the demo user %s has role %s, not manager: refusing the demo sign-in", DemoEmail, u.Role)
	}
	return u, err
}

// proxyHeaders are set by reverse proxies; a request carrying any of them
// did not come straight from a browser on this machine.
var proxyHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-Ip", "Via"}

// directLoopback says whether a request came straight to a loopback
// address from a loopback peer, with a loopback Host (which also defeats
// DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends Host
// evil.example) and no sign of a proxy in between.
func directLoopback(r *http.Request) bool {
	for _, h := range proxyHeaders {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil || !loopbackHost(local.String()) || !loopbackHost(r.RemoteAddr) {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.EqualFold(host, "localhost") || loopbackIP(strings.Trim(host, "[]"))
}

// loopbackHost says whether host:port has a loopback IP.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	return err == nil && loopbackIP(host)
}

func loopbackIP(s string) bool {
	ip := net.ParseIP(s)
	return ip != nil && ip.IsLoopback()
}
