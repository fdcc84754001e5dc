package armapi

import (
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/principal"
	"github.com/edgevault/edgevault/internal/resource"
)

func toSubscription(s principal.Subscription) arm.Subscription {
	return arm.Subscription{
		ID: "/subscriptions/" + s.ID, SubscriptionID: s.ID, TenantID: s.TenantID,
		DisplayName: s.DisplayName, State: s.State, AuthorizationSource: "RoleBased",
		SubscriptionPolicies: arm.SubscriptionPolicies{
			LocationPlacementID: "Public_2014-09-01", QuotaID: "Edgevault_2026-01-01", SpendingLimit: "Off",
		},
	}
}

// listSubscriptions returns the subscriptions of the caller's tenant in
// which the caller holds any role, at the subscription or below it.
func (h *Handler) listSubscriptions(w http.ResponseWriter, q *request) {
	subs, err := h.cfg.Subscriptions.Subscriptions(q.ctx(), q.caller.Principal.TenantID)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.Subscription]{Value: []arm.Subscription{}}
	for _, s := range subs {
		visible, err := h.cfg.RBAC.Visible(q.ctx(), q.caller.Principal, resource.NewSubscription(s.ID))
		if err != nil {
			writeError(w, q.Request, err)
			return
		}
		if visible {
			out.Value = append(out.Value, toSubscription(s))
		}
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getSubscription(w http.ResponseWriter, q *request) {
	s, err := h.cfg.Subscriptions.Subscription(q.ctx(), q.vars["subscriptionId"])
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toSubscription(s))
}
