package cli

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// edgeAlert is an alert of an edge resource (reference/edge-arm.md §1.10),
// e.g. the audit trail a generation could not set up.
type edgeAlert struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Properties struct {
		Title              string    `json:"title"`
		AlertType          string    `json:"alertType"`
		AppearedAtDateTime time.Time `json:"appearedAtDateTime"`
		Recommendation     string    `json:"recommendation"`
		Severity           string    `json:"severity"`
		ErrorDetails       struct {
			ErrorCode    string `json:"errorCode"`
			ErrorMessage string `json:"errorMessage"`
			Occurrences  int    `json:"occurrences"`
		} `json:"errorDetails"`
		DetailedInformation map[string]string `json:"detailedInformation"`
	} `json:"properties"`
}

func (a edgeAlert) status() string { return a.Properties.DetailedInformation["status"] }

func (a edgeAlert) record() record {
	p := a.Properties
	r := record{
		{"id", a.Name}, {"title", p.Title}, {"severity", p.Severity}, {"status", a.status()},
		{"type", p.AlertType}, {"appeared", timeText(p.AppearedAtDateTime)},
		{"error code", p.ErrorDetails.ErrorCode}, {"error message", p.ErrorDetails.ErrorMessage},
		{"occurrences", strconv.Itoa(p.ErrorDetails.Occurrences)},
		{"recommendation", p.Recommendation},
	}
	for _, k := range slices.Sorted(maps.Keys(p.DetailedInformation)) {
		if k != "status" {
			r = append(r, field{k, p.DetailedInformation[k]})
		}
	}
	return r
}

func newEdgeAlertListCmd(a *app) *cobra.Command {
	var f edgeFlags
	cmd := &cobra.Command{
		Use:   "list --name NAME --resource-group RG",
		Short: "List an edge resource's alerts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, u, err := f.open("/alerts")
			if err != nil {
				return err
			}
			alerts, err := listAll[edgeAlert](cmd.Context(), c, u)
			if err != nil {
				return err
			}
			t := table{headers: []string{"SEVERITY", "TYPE", "STATUS", "APPEARED", "OCCURRENCES", "TITLE", "ID"}}
			for _, al := range alerts {
				p := al.Properties
				t.rows = append(t.rows, []string{p.Severity, p.AlertType, al.status(),
					timeText(p.AppearedAtDateTime), strconv.Itoa(p.ErrorDetails.Occurrences), p.Title, al.Name})
			}
			return a.print(cmd.OutOrStdout(), alerts, t)
		},
	}
	f.add(cmd)
	return cmd
}

func newEdgeAlertShowCmd(a *app) *cobra.Command {
	var f edgeFlags
	var id string
	cmd := &cobra.Command{
		Use:   "show --name NAME --resource-group RG --alert-id ID",
		Short: "Show an alert of an edge resource",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" || strings.ContainsAny(id, "/?#") {
				return usagef("--alert-id is required: an id from 'edgevault edge alert list'")
			}
			c, u, err := f.open("/alerts/" + id)
			if err != nil {
				return err
			}
			var al edgeAlert
			if _, err := c.do(cmd.Context(), http.MethodGet, u, nil, &al); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), al, al.record())
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&id, "alert-id", "", "id of the alert")
	return cmd
}
