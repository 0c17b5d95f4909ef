package hfapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many redirects an endpoint request follows (net/http's own limit).
const maxRedirects = 10

// redirectPolicyKey marks, in a request's context, a request to an endpoint's URL (true) rather
// than to the management API (false or absent).
type redirectPolicyKey struct{}

func withRedirectPolicy(ctx context.Context, endpoint bool) context.Context {
	return context.WithValue(ctx, redirectPolicyKey{}, endpoint)
}

// withRedirectRules returns a copy of hc (sharing its transport) whose redirects keep the token
// home. The management API never redirects, so a redirect there is an error naming where it
// pointed, and is not followed: the token would go along. An endpoint's URL may redirect (a
// gateway, a path moved); those are followed, but Authorization goes only to the origin
// (scheme, host and port) of the URL first asked. net/http compares host names alone, so a
// redirect to another port of the same host would still carry it.
func withRedirectRules(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = checkRedirect
	return &c
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	if endpoint, _ := first.Context().Value(redirectPolicyKey{}).(bool); !endpoint {
		return fmt.Errorf("the API answered with a redirect to %s, which is not followed so that the "+
			"token is sent to %s only; check the base URLs (HF_ENDPOINTS_API_URL, HF_ENDPOINT)", redirectTarget(req.URL), first.URL.Host)
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if origin(req.URL) != origin(first.URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// redirectTarget names a redirect's destination without its query or credentials.
func redirectTarget(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// origin is scheme://host:port, with the scheme's default port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
