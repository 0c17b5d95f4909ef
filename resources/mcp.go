package resources

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Register adds the endpoint status template to srv, declares the resources capability
// (subscribe and listChanged) and installs the hooks that track subscriptions in both protocol
// eras and fill resources/list. Call it once, after srv is built and before it serves.
//
// mcp-go v1.2.1 keeps no subscription state of its own: resources/subscribe is only
// acknowledged, and subscriptions/listen only holds its stream open. The hooks below record
// who subscribed to what, so that the poller can notify exactly them, and, with token
// pass-through, which caller each session belongs to (see tellListChanged).
func (s *Service) Register(srv *server.MCPServer) {
	server.WithResourceCapabilities(true, true)(srv)
	hooks := srv.GetHooks()
	if hooks == nil {
		hooks = &server.Hooks{}
		server.WithHooks(hooks)(srv)
	}
	s.addHooks(hooks, srv)
	srv.AddResourceTemplates(s.Template())
	s.mu.Lock()
	s.listChanged = func(key, _ string) { s.tellListChanged(srv, key) }
	s.mu.Unlock()
}

// tellListChanged sends notifications/resources/list_changed to the clients of scope key.
// With one server token every client shares the scope, and mcp-go's broadcast reaches them
// all: sessions, and the 2026-07-28 subscriptions/listen streams that asked for list changes.
// With token pass-through the broadcast would tell every caller when another caller's
// endpoints come and go, so only the sessions and listen streams of that caller are told.
func (s *Service) tellListChanged(srv *server.MCPServer, key string) {
	if s.opts.APIFor == nil {
		srv.SendNotificationToAllClients(mcp.MethodNotificationResourcesListChanged, nil)
		return
	}
	sessions, streams := s.audience.of(key)
	for _, id := range sessions {
		// An uninitialized session is skipped, as the broadcast skips it.
		if err := srv.SendNotificationToSpecificClient(id, mcp.MethodNotificationResourcesListChanged, nil); err != nil {
			s.log.Debug("dropping resources/list_changed", "err", err)
		}
	}
	for _, st := range streams {
		if err := st.Notify(mcp.MethodNotificationResourcesListChanged, nil); err != nil {
			s.log.Debug("dropping resources/list_changed", "subscriber", st.ID(), "err", err)
		}
	}
}

// joinAudience records the caller a session belongs to, so that it hears of its caller's list
// changes only. The session is registered with the context of its first HTTP request, which
// carries the caller's token.
func (s *Service) joinAudience(ctx context.Context, sess server.ClientSession) {
	if s.opts.APIFor == nil || sess.SessionID() == "" {
		return
	}
	key, _, err := s.scopeKey(ctx)
	if err != nil {
		s.log.Debug("a session without a caller hears of no resource list change", "err", err)
		return
	}
	s.audience.join(sess.SessionID(), key)
}

var listenSeq atomic.Uint64

func (s *Service) addHooks(h *server.Hooks, srv *server.MCPServer) {
	h.AddAfterSubscribe(func(ctx context.Context, _ any, req *mcp.SubscribeRequest, _ *mcp.EmptyResult) {
		sess := server.ClientSessionFromContext(ctx)
		if sess == nil || sess.SessionID() == "" {
			s.log.Warn("resources/subscribe without a session cannot be notified", "uri", req.Params.URI)
			return
		}
		s.subscribe(ctx, &sessionSubscriber{srv: srv, session: sess.SessionID()}, req.Params.URI)
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcp.UnsubscribeRequest, _ *mcp.EmptyResult) {
		sess := server.ClientSessionFromContext(ctx)
		if sess == nil {
			return
		}
		if sc, err := s.scopeFor(ctx); err == nil {
			sc.poller.Registry().Unsubscribe(sessionSubscriberID(sess.SessionID()), req.Params.URI)
		}
	})
	h.AddOnRegisterSession(s.joinAudience)
	h.AddOnUnregisterSession(func(_ context.Context, sess server.ClientSession) {
		s.audience.leave(sess.SessionID())
		for _, sc := range s.allScopes() {
			sc.poller.Registry().Drop(sessionSubscriberID(sess.SessionID()))
		}
	})
	h.AddBeforeSubscriptionsListen(s.listen)
	h.AddBeforeListResources(refuseForeignCursor)
	h.AddAfterListResources(s.fillList)
}

// subscribe records a subscription in the scope of ctx's caller and returns that scope.
func (s *Service) subscribe(ctx context.Context, sub Subscriber, uri string) *scope {
	if err := s.CheckSubscribe(ctx, sub.ID(), uri); err != nil {
		s.log.Debug("subscription refused", "uri", uri, "err", err)
		return nil
	}
	sc, err := s.withScope(ctx, func(sc *scope) error { return sc.poller.Registry().Subscribe(sub, uri) })
	if err != nil {
		s.log.Debug("subscription not recorded", "uri", uri, "err", err)
		return nil
	}
	return sc
}

// listen records the resource subscriptions of a subscriptions/listen stream (2026-07-28),
// and, with token pass-through, whether it asked for list changes (see tellListChanged).
// The request blocks until the client cancels it or disconnects, which ends ctx; the
// subscriptions end with it.
func (s *Service) listen(ctx context.Context, id any, req *mcp.SubscriptionsListenRequest) {
	sess := server.ClientSessionFromContext(ctx)
	if sess == nil || id == nil {
		return
	}
	sub := &streamSubscriber{session: sess, listenID: id, id: fmt.Sprintf("listen:%d", listenSeq.Add(1))}
	s.listenForListChanges(ctx, req, sub)
	var sc *scope
	for _, uri := range req.Params.Notifications.ResourceSubscriptions {
		if got := s.subscribe(ctx, sub, uri); got != nil {
			sc = got
		}
	}
	if sc != nil {
		context.AfterFunc(ctx, func() { sc.poller.Registry().Drop(sub.id) })
	}
}

// fillList adds the default namespace's endpoints to resources/list, ListPageSize at a time.
// mcp-go lists only resources registered up front; registering each endpoint globally would go
// stale and make every refresh broadcast list_changed to every session, so the listing is built
// per request, and paged here with cursors of our own (see listCursor).
func (s *Service) fillList(ctx context.Context, _ any, req *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
	if res == nil {
		return
	}
	from, ok := parseListCursor(req.Params.Cursor)
	if !ok {
		return // refused before mcp-go answered (refuseForeignCursor)
	}
	list, err := s.List(ctx)
	if err != nil {
		s.log.Warn("resources/list without endpoints", "err", err)
		return
	}
	page, next := pageOf(list, from)
	res.Resources = append(res.Resources, page...)
	res.NextCursor = next
}

// listenForListChanges records a pass-through caller's listen stream that asked for list
// changes until the stream ends. A stream of a recorded session (legacy SSE speaking
// 2026-07-28) is not recorded: the session hears of the changes already.
func (s *Service) listenForListChanges(ctx context.Context, req *mcp.SubscriptionsListenRequest, sub *streamSubscriber) {
	if s.opts.APIFor == nil || !req.Params.Notifications.ResourcesListChanged || s.audience.member(sub.session.SessionID()) {
		return
	}
	key, _, err := s.scopeKey(ctx)
	if err != nil {
		return
	}
	context.AfterFunc(ctx, s.audience.listen(key, sub))
}

func sessionSubscriberID(sessionID string) string { return "session:" + sessionID }

// SessionSubscriberID is the subscriber ID of the session sessionID's resources/subscribe
// subscriptions, for CheckSubscribe.
func SessionSubscriberID(sessionID string) string { return sessionSubscriberID(sessionID) }

// sessionSubscriber is a session that used resources/subscribe (2025-11-25 and earlier). It is
// notified through the server's session table, so the notification takes the session's own
// route (the stdio stream, the SSE stream, or streamable HTTP's GET stream).
type sessionSubscriber struct {
	srv     *server.MCPServer
	session string
}

func (s *sessionSubscriber) ID() string { return sessionSubscriberID(s.session) }

func (s *sessionSubscriber) Notify(method string, params map[string]any) error {
	return s.srv.SendNotificationToSpecificClient(s.session, method, params)
}

// streamSubscriber is one subscriptions/listen stream (2026-07-28). Over streamable HTTP its
// session exists only for the request and is in no session table, so notifications go straight
// into the session's channel, which the transport drains onto the stream; each is tagged with
// the listen request's id as the protocol requires.
type streamSubscriber struct {
	session  server.ClientSession
	listenID any
	id       string
}

func (s *streamSubscriber) ID() string { return s.id }

func (s *streamSubscriber) Notify(method string, params map[string]any) error {
	n := mcp.JSONRPCNotification{
		JSONRPC: mcp.JSONRPC_VERSION,
		Notification: mcp.Notification{Method: method, Params: mcp.NotificationParams{
			Meta:             map[string]any{mcp.MetaKeySubscriptionID: s.listenID},
			AdditionalFields: params,
		}},
	}
	if up, ok := s.session.(server.SessionWithStreamableHTTPConfig); ok {
		up.UpgradeToSSEWhenReceiveNotification()
	}
	select {
	case s.session.NotificationChannel() <- n:
		return nil
	default:
		return server.ErrNotificationChannelBlocked
	}
}
