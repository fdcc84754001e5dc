package armapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/httpx"
)

// listInScope answers a list of the resources of one type in the route's
// scope, a resource group or a subscription: it parses the page, checks
// that the group exists, asks for one item more than the page holds to
// know whether another page follows, and keys the nextLink by the last
// item's lower-cased name (the order every list method returns).
func listInScope[T, W any](h *Handler, w http.ResponseWriter, q *request,
	list func(ctx context.Context, subscriptionID, group, after string, limit int) ([]T, error),
	name func(T) string, render func(T) W) {
	page, err := arm.ParsePage(q.Request)
	group := q.scope.ResourceGroupName()
	if err == nil && group != "" {
		err = h.requireGroup(q, false)
	}
	var items []T
	if err == nil {
		items, err = list(q.ctx(), q.scope.SubscriptionID(), group, page.After, page.Size+1)
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[W]{Value: []W{}}
	for i, it := range items {
		if i == page.Size {
			out.NextLink = arm.NextLink(q.Request, h.cfg.Endpoint, strings.ToLower(name(items[i-1])))
			break
		}
		out.Value = append(out.Value, render(it))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}
