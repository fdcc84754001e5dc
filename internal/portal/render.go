package portal

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/edgevault/edgevault/internal/httpx"
)

// pages are the parsed templates, one set per page: the layout and the
// partials plus the page's own file.
type pages map[string]*template.Template

var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		case *time.Time:
			if v == nil || v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return ""
	},
	"join": strings.Join,
	// version is the last segment of a secret's id ("secrets/N/V" → V).
	"version": path.Base,
	// tabs is the argument of the resource-tabs partial.
	"tabs": func(url, current string) map[string]string {
		return map[string]string{"URL": url, "Current": current}
	},
}

func parsePages() (pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	// Every page sees the layout and the partials (templates/partials).
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	p := pages{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		p[strings.TrimSuffix(base, ".html")] = t
	}
	return p, nil
}

// view is what every page's template sees.
type view struct {
	User  *User  // nil when signed out
	CSRF  string // the session's CSRF token, for every form
	Data  any
	Title string
}

// render writes page with data, the session's user and CSRF token.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	v := view{Data: data}
	if ss := sessionOf(r.Context()); ss != nil {
		v.User, v.CSRF = &ss.user, ss.csrf
	}
	t, ok := h.pages[page]
	if !ok {
		h.cfg.Logger.Error("portal: no such page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "portal: render", slog.String("page", page),
			slog.String("request_id", httpx.RequestID(r.Context())), slog.String("error", err.Error()))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail shows a message page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, title, text string) {
	h.render(w, r, status, "message", map[string]any{"Heading": title, "Text": text,
		"RequestID": httpx.RequestID(r.Context())})
}

// internal logs err and shows that something went wrong, with the
// request id to quote; the cause stays in the log.
func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "portal: request failed",
		slog.String("request_id", httpx.RequestID(r.Context())), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	h.fail(w, r, http.StatusInternalServerError, "Something went wrong",
		"The portal could not complete the request. Quote the request id below to your administrator.")
}

// apiFailure shows what an API refusal means: no access, not found, or
// the API's own message (a conflict, a lock, an invalid value).
func (h *Handler) apiFailure(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		h.internal(w, r, err)
		return
	}
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		h.fail(w, r, http.StatusForbidden, "You do not have access",
			"Your role assignments do not allow this. "+e.Message)
	case e.Status == http.StatusNotFound:
		h.fail(w, r, http.StatusNotFound, "Not found", e.Message)
	case e.Status >= 500:
		h.internal(w, r, err)
	default:
		h.fail(w, r, e.Status, "The request was refused", e.Message)
	}
}
