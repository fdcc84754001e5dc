// Package arm holds the Azure Resource Manager wire shapes shared by every
// management-plane handler: the error envelope today; resource envelopes,
// paging and long-running-operation bodies as the ARM core grows
// (reference/edge-arm.md §3). Wire shapes live here so that adding an
// api-version never touches the domain.
package arm

import (
	"net/http"

	"github.com/edgevault/edgevault/internal/httpx"
)

// ErrorResponse is ARM's error envelope (edge-arm.md §3.3):
// {"error":{"code","message","target","details","additionalInfo"}}.
type ErrorResponse struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is one error, possibly with nested details.
type ErrorDetail struct {
	Code           string           `json:"code"`
	Message        string           `json:"message"`
	Target         string           `json:"target,omitempty"`
	Details        []ErrorDetail    `json:"details,omitempty"`
	AdditionalInfo []AdditionalInfo `json:"additionalInfo,omitempty"`
}

// AdditionalInfo is typed extra information on an error.
type AdditionalInfo struct {
	Type string `json:"type"`
	Info any    `json:"info,omitempty"`
}

// WriteError writes an ARM error response.
func WriteError(w http.ResponseWriter, status int, d ErrorDetail) {
	_ = httpx.WriteJSON(w, status, ErrorResponse{Error: d})
}
