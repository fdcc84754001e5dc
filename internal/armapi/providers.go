package armapi

import (
	"context"
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/provider"
)

func toProvider(sub string, r provider.Registration) arm.Provider {
	p := arm.Provider{
		ID: "/subscriptions/" + sub + "/providers/" + r.Provider.Namespace, Namespace: r.Provider.Namespace,
		RegistrationState: string(r.State), RegistrationPolicy: "RegistrationRequired",
		ResourceTypes: []arm.ProviderResourceType{},
	}
	for _, t := range r.Provider.Types {
		locs := t.Locations
		if locs == nil {
			locs = []string{}
		}
		p.ResourceTypes = append(p.ResourceTypes, arm.ProviderResourceType{ResourceType: t.Name, Locations: locs, APIVersions: t.APIVersions})
	}
	return p
}

func (h *Handler) listProviders(w http.ResponseWriter, q *request) {
	sub := q.vars["subscriptionId"]
	regs, err := h.cfg.Providers.List(q.ctx(), sub)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.Provider]{Value: []arm.Provider{}}
	for _, r := range regs {
		out.Value = append(out.Value, toProvider(sub, r))
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) getProvider(w http.ResponseWriter, q *request) {
	h.providerOp(w, q, h.cfg.Providers.Get)
}

func (h *Handler) registerProvider(w http.ResponseWriter, q *request) {
	h.providerOp(w, q, h.cfg.Providers.Register)
}

func (h *Handler) unregisterProvider(w http.ResponseWriter, q *request) {
	h.providerOp(w, q, h.cfg.Providers.Unregister)
}

func (h *Handler) providerOp(w http.ResponseWriter, q *request, op func(ctx context.Context, sub, ns string) (provider.Registration, error)) {
	sub := q.vars["subscriptionId"]
	r, err := op(q.ctx(), sub, q.vars["namespace"])
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	_ = httpx.WriteJSON(w, http.StatusOK, toProvider(sub, r))
}
