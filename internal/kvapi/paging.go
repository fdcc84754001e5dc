package kvapi

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/edgevault/edgevault/internal/akv"
	"github.com/edgevault/edgevault/internal/envelope"
	"github.com/edgevault/edgevault/internal/secret"
)

// maxSkipToken bounds the $skiptoken the handler will try to open; ours
// are about 200 characters.
const maxSkipToken = 1024

// pageRequest is a list request's paging: the page size, whether the
// client chose it, and the domain cursor its skip token carried.
type pageRequest struct {
	limit     int
	explicit  bool
	cursor    string
	operation string // the route's audit operation: binds the token
	name      string // lower-cased secret name for versions, else ""
}

// readPage reads maxresults (1–25, default 25) and $skiptoken. A skip
// token opens only for the vault, operation and secret it was made for:
// it is the domain cursor sealed in the vault's envelope scope, with AAD
// binding all three, so a forged token, or one from another vault or
// list, is refused.
func (h *Handler) readPage(x *exchange, name string) (pageRequest, error) {
	q := x.r.URL.Query()
	p := pageRequest{limit: akv.MaxPageSize, operation: x.route.op, name: strings.ToLower(name)}
	if s := q.Get(akv.ParamMaxResults); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > akv.MaxPageSize {
			return p, badRequest("The maxresults parameter must be an integer from 1 to %d.", akv.MaxPageSize)
		}
		p.limit, p.explicit = n, true
	}
	tok := q.Get(akv.ParamSkipToken)
	if tok == "" {
		tok = q.Get("$skipToken")
	}
	if tok == "" {
		return p, nil
	}
	blob, err := akv.DecodeBlob(tok)
	if len(tok) > maxSkipToken || err != nil {
		return p, errBadSkipToken
	}
	cursor, err := h.cfg.Sealer.Open(x.r.Context(), secret.Scope(x.vault.UID), p.aad(x.vault.UID), blob)
	if errors.Is(err, envelope.ErrDecrypt) {
		return p, errBadSkipToken
	}
	if err != nil {
		return p, err
	}
	if len(cursor) == 0 {
		return p, errBadSkipToken
	}
	p.cursor = string(cursor)
	return p, nil
}

func (p pageRequest) aad(vaultUID string) []byte {
	return envelope.AAD("kvapi/skiptoken/v1", vaultUID, p.operation, p.name)
}

// nextLink returns the absolute link to the page after cursor, or nil when
// cursor is "" (the last page: "nextLink":null). It carries the request's
// api-version, since the Go SDK follows it verbatim, and no explicit :443
// (reference/keyvault-wire.md §2.2).
func (h *Handler) nextLink(x *exchange, path string, p pageRequest, cursor string) (*string, error) {
	if cursor == "" {
		return nil, nil
	}
	sealed, err := h.cfg.Sealer.Seal(x.r.Context(), secret.Scope(x.vault.UID), p.aad(x.vault.UID), []byte(cursor))
	if err != nil {
		return nil, err
	}
	link := x.vaultURL + path + "?" + akv.ParamAPIVersion + "=" + url.QueryEscape(x.apiVersion) +
		"&" + akv.ParamSkipToken + "=" + akv.EncodeBlob(sealed)
	if p.explicit {
		link += "&" + akv.ParamMaxResults + "=" + strconv.Itoa(p.limit)
	}
	return &link, nil
}
