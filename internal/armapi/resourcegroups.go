package armapi

import (
	"net/http"

	"github.com/edgevault/edgevault/internal/arm"
	"github.com/edgevault/edgevault/internal/httpx"
	"github.com/edgevault/edgevault/internal/resource"
	"github.com/edgevault/edgevault/internal/resourcegroup"
)

const groupType = "Microsoft.Resources/resourceGroups"

func toGroup(g resourcegroup.Group) arm.ResourceGroup {
	return arm.ResourceGroup{
		ID: g.ID.String(), Name: g.Name(), Type: groupType, Location: g.Location,
		ManagedBy: g.ManagedBy, Tags: g.Tags,
		Properties: arm.ResourceGroupProperties{ProvisioningState: g.ProvisioningState},
	}
}

func writeGroup(w http.ResponseWriter, status int, g resourcegroup.Group) {
	w.Header().Set("ETag", `"`+g.ETag+`"`)
	_ = httpx.WriteJSON(w, status, toGroup(g))
}

func (h *Handler) groupID(q *request) resource.ID {
	return resource.NewResourceGroup(q.vars["subscriptionId"], q.vars["resourceGroupName"])
}

func (h *Handler) getGroup(w http.ResponseWriter, q *request) {
	g, err := h.cfg.Groups.Get(q.ctx(), h.groupID(q))
	if q.Method == http.MethodHead {
		// HEAD (CheckExistence): 204 when it exists, 404 when not, no body.
		switch {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			status, _ := lookupError(err)
			w.WriteHeader(status)
		}
		return
	}
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	writeGroup(w, http.StatusOK, g)
}

func (h *Handler) putGroup(w http.ResponseWriter, q *request) {
	var body arm.ResourceGroupPut
	if err := arm.DecodeBody(q.Request, &body); err != nil {
		writeError(w, q.Request, err)
		return
	}
	spec := resourcegroup.Spec{Location: body.Location, Tags: body.Tags, ManagedBy: body.ManagedBy}
	g, created, err := h.cfg.Groups.Put(q.ctx(), h.groupID(q), spec, func(old resourcegroup.Group, exists bool) error {
		return arm.CheckPreconditions(q.Request, exists, old.ETag)
	})
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeGroup(w, status, g)
}

func (h *Handler) patchGroup(w http.ResponseWriter, q *request) {
	var body arm.ResourceGroupPatch
	if err := arm.DecodeBody(q.Request, &body); err != nil {
		writeError(w, q.Request, err)
		return
	}
	g, err := h.cfg.Groups.Patch(q.ctx(), h.groupID(q), body.Tags, body.ManagedBy, func(old resourcegroup.Group) error {
		return arm.CheckPreconditions(q.Request, true, old.ETag)
	})
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	writeGroup(w, http.StatusOK, g)
}

// listGroups pages through the subscription's groups, returning those the
// caller may read (a caller with a role on one group sees that group).
func (h *Handler) listGroups(w http.ResponseWriter, q *request) {
	page, err := arm.ParsePage(q.Request)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	out := arm.List[arm.ResourceGroup]{Value: []arm.ResourceGroup{}}
	groups, err := h.cfg.Groups.List(q.ctx(), q.vars["subscriptionId"], page.After, page.Size+1)
	if err != nil {
		writeError(w, q.Request, err)
		return
	}
	more := len(groups) > page.Size
	if more {
		groups = groups[:page.Size]
	}
	for _, g := range groups {
		if h.cfg.RBAC.Authorize(q.ctx(), q.caller.Principal, actGroupRead, g.ID) == nil {
			out.Value = append(out.Value, toGroup(g))
		}
	}
	if more {
		out.NextLink = arm.NextLink(q.Request, h.cfg.Endpoint, groups[len(groups)-1].ID.Key())
	}
	_ = httpx.WriteJSON(w, http.StatusOK, out)
}
