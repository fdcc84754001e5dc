package armapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// ARM paths cannot be routed by net/http's ServeMux: extension resources
// (locks, role assignments) hang off any resource id, so their patterns
// start with a scope of any depth. A pattern here is a list of segments:
// literals (matched case-insensitively, as ARM does), {name} variables, and
// an optional leading {scope} that takes whatever prefix of the path parses
// as a resource id.

type pattern struct {
	scoped bool
	segs   []string
}

func compile(p string) pattern {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if segs[0] == "{scope}" {
		return pattern{scoped: true, segs: segs[1:]}
	}
	return pattern{segs: segs}
}

// match reports whether path (split into segments) matches, binding
// variables and the scope.
func (p pattern) match(path []string) (vars map[string]string, scope resource.ID, ok bool) {
	if len(path) < len(p.segs) || (!p.scoped && len(path) != len(p.segs)) {
		return nil, resource.ID{}, false
	}
	tail := path[len(path)-len(p.segs):]
	vars = map[string]string{}
	for i, seg := range p.segs {
		switch {
		case strings.HasPrefix(seg, "{"):
			if tail[i] == "" {
				return nil, resource.ID{}, false
			}
			vars[strings.Trim(seg, "{}")] = tail[i]
		case !strings.EqualFold(seg, tail[i]):
			return nil, resource.ID{}, false
		}
	}
	if p.scoped {
		prefix := path[:len(path)-len(p.segs)]
		id, err := resource.Parse("/" + strings.Join(prefix, "/"))
		if err != nil {
			return nil, resource.ID{}, false
		}
		scope = id
	}
	return vars, scope, true
}

// request is what a route handler receives: the HTTP request and what the
// router and the guard established about it.
type request struct {
	*http.Request
	caller     Caller
	vars       map[string]string
	scope      resource.ID // the {scope} of scoped patterns
	apiVersion string
}

func (q *request) ctx() context.Context { return q.Context() }

// splitPath splits a URL path into its segments ("/" gives none).
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// ServeHTTP routes a request: the first route whose method and pattern
// match serves it; a path that matches with another method is 405; no
// match is ARM's 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Logger != nil {
		r = r.WithContext(context.WithValue(r.Context(), loggerKey{}, h.cfg.Logger))
	}
	segs := splitPath(r.URL.Path)
	pathMatched := false
	for i := range h.routes {
		rt := &h.routes[i]
		vars, scope, ok := rt.pattern.match(segs)
		if !ok {
			continue
		}
		if rt.Method != r.Method && !(rt.Method == http.MethodGet && r.Method == http.MethodHead && rt.headOK) {
			pathMatched = true
			continue
		}
		h.serve(w, &request{Request: r, vars: vars, scope: scope}, rt)
		return
	}
	if pathMatched {
		writeError(w, r, &arm.Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
			Message: "The requested method is not allowed on this resource."})
		return
	}
	writeError(w, r, &arm.Error{Status: http.StatusNotFound, Code: "NotFound",
		Message: "No HTTP resource was found that matches the request URI."})
}

// serve runs the guard, then the handler: authenticate, check the
// api-version, authorize, in that order, so that nothing about a resource
// is revealed to a caller who may not see it.
func (h *Handler) serve(w http.ResponseWriter, q *request, rt *route) {
	caller, err := h.authenticate(q.Request)
	if err != nil {
		h.challenge(w, err)
		writeError(w, q.Request, err)
		return
	}
	q.caller = caller
	q.Request = q.WithContext(context.WithValue(q.Context(), callerKey{}, caller))
	if rt.Versions != nil {
		if q.apiVersion, err = rt.Versions.Check(q.Request); err != nil {
			writeError(w, q.Request, err)
			return
		}
	}
	if rt.Audit != "" {
		h.auditWrite(w, q, rt, func(w http.ResponseWriter) bool { return h.authorized(w, q, rt) })
		return
	}
	h.authorized(w, q, rt)
}

// authorized is the rest of serve: authorize, require the provider, run
// the handler. It reports whether the request reached the resource
// provider: false when ARM's front door refused it for an unregistered
// provider (the audit trail does not record those).
func (h *Handler) authorized(w http.ResponseWriter, q *request, rt *route) bool {
	if err := h.authorize(q, rt.Access); err != nil {
		writeError(w, q.Request, err)
		return true
	}
	if rt.Provider != "" {
		// ARM refuses a resource type whose provider is not registered in
		// the subscription: 409 MissingSubscriptionRegistration, which the
		// SDKs' registration policy answers by registering and retrying.
		sub := q.scope.SubscriptionID()
		if sub == "" {
			sub = q.vars["subscriptionId"]
		}
		if sub != "" {
			if err := h.cfg.Providers.RequireRegistered(q.ctx(), sub, rt.Provider); err != nil {
				writeError(w, q.Request, err)
				return false
			}
		}
	}
	rt.Handler(w, q)
	return true
}

// authorize applies a route's access rule.
func (h *Handler) authorize(q *request, a access) error {
	switch {
	case a.admin:
		if !q.caller.Principal.Admin {
			return errkind.E(errkind.PermissionDenied,
				"The client '%s' with object id '%s' does not have authorization to perform action '%s'.",
				callerName(q.caller), q.caller.Principal.ObjectID, "Edgevault/tenant/administer")
		}
		return nil
	case a.anyCaller:
		return nil
	}
	scope, err := a.scope(q)
	if err != nil {
		return err
	}
	action := a.action
	if strings.Contains(action, "{") {
		for k, v := range q.vars {
			action = strings.ReplaceAll(action, "{"+k+"}", v)
		}
	}
	return h.cfg.RBAC.Authorize(q.ctx(), q.caller.Principal, action, scope)
}

// callerName is how Azure's messages name a client: the user's sign-in name
// or the application id.
func callerName(c Caller) string {
	switch {
	case c.Principal.UserName != "":
		return c.Principal.UserName
	case c.Principal.ClientID != "":
		return c.Principal.ClientID
	}
	return c.Principal.ObjectID
}
