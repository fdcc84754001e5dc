package httpx

import (
	"context"
	"log/slog"
	"net/http"
)

// Health check paths, answered on every host before dispatch so that a
// probe works whatever name it uses (127.0.0.1 included).
const (
	PathHealth = "/healthz"
	PathReady  = "/readyz"
)

// Hosts is the handler for the server's one TLS listener: it routes each
// request by Host header (DESIGN.md §3) to the handler of its surface.
//
// /healthz and /readyz are answered first, on every host. A surface whose
// handler is nil, and any unknown host when Unknown is nil, gets the
// generic JSON 404. Handlers find the vault or account name with
// Label(r.Context()) and the surface with SurfaceOf.
type Hosts struct {
	// Router classifies Host headers; its zero value uses DefaultSuffix.
	Router Router

	// The handler of each surface; nil answers the generic 404.
	Login      http.Handler
	Management http.Handler
	Vault      http.Handler
	Blob       http.Handler
	Device     http.Handler
	Portal     http.Handler
	Unknown    http.Handler

	// Ready reports whether the server can serve (database reachable,
	// keys loaded). nil means always ready. /readyz calls it with the
	// request's context; it should return promptly.
	Ready func(context.Context) error

	// Logger receives readiness failures; nil means slog.Default().
	Logger *slog.Logger
}

// ServeHTTP routes r. It records the surface and label in the request's
// context, where the middleware outside it reads them once it returns.
func (h *Hosts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r, in := withInfo(r)
	in.surface, in.label = h.Router.Classify(r.Host)
	if r.URL != nil {
		switch r.URL.Path {
		case PathHealth:
			WriteJSON(w, http.StatusOK, healthBody{Status: "ok"})
			return
		case PathReady:
			h.ready(w, r)
			return
		}
	}
	next := h.handler(in.surface)
	if next == nil {
		NotFound(w, r)
		return
	}
	next.ServeHTTP(w, r)
}

// handler returns the handler configured for s, possibly nil.
func (h *Hosts) handler(s Surface) http.Handler {
	switch s {
	case Login:
		return h.Login
	case Management:
		return h.Management
	case Vault:
		return h.Vault
	case Blob:
		return h.Blob
	case Device:
		return h.Device
	case Portal:
		return h.Portal
	}
	return h.Unknown
}

type healthBody struct {
	Status string `json:"status"`
}

// ready answers /readyz. The probe gets only "unavailable": the cause can
// name hosts, paths or database details, so it goes to the log instead.
func (h *Hosts) ready(w http.ResponseWriter, r *http.Request) {
	if h.Ready != nil {
		if err := h.Ready(r.Context()); err != nil {
			logger := h.Logger
			if logger == nil {
				logger = slog.Default()
			}
			logger.LogAttrs(r.Context(), slog.LevelWarn, "http: not ready",
				slog.String("request_id", RequestID(r.Context())),
				slog.String("error", err.Error()))
			WriteJSON(w, http.StatusServiceUnavailable, healthBody{Status: "unavailable"})
			return
		}
	}
	WriteJSON(w, http.StatusOK, healthBody{Status: "ok"})
}
