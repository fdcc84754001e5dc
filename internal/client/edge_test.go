package client

import (
	"slices"
	"testing"
)

func TestStepTracker(t *testing.T) {
	for _, tc := range []struct {
		name       string
		observed   []string // lastCompletedStep of each poll, "" for none
		regenerate bool     // what the caller knows at the end
		want       [][]string
	}{
		{name: "none seen, first generation", observed: []string{""},
			want: [][]string{nil, ActivationSteps}},
		{name: "none seen, regenerate", observed: []string{""}, regenerate: true,
			want: [][]string{nil, RegenerateSteps}},
		{name: "every step seen", observed: ActivationSteps[:8],
			want: [][]string{{"CreateKeyVault"}, {"LockKeyVault"}, {"EnableManagedIdentity"}, {"CreateChannelIntegrityKey"},
				{"CreateAuditStorageAccount"}, {"CreateDiagnosticSetting"}, {"GrantManagedIdentityAccess"},
				{"VerifyManagedIdentityAccess"}, {"IssueActivationKey"}}},
		{name: "gaps filled, repeats dropped", observed: []string{"LockKeyVault", "LockKeyVault", "CreateAuditStorageAccount"},
			want: [][]string{{"CreateKeyVault", "LockKeyVault"}, nil,
				{"EnableManagedIdentity", "CreateChannelIntegrityKey", "CreateAuditStorageAccount"},
				{"CreateDiagnosticSetting", "GrantManagedIdentityAccess", "VerifyManagedIdentityAccess", "IssueActivationKey"}}},
		{name: "an earlier step seen late is not repeated", observed: []string{"CreateChannelIntegrityKey", "LockKeyVault"},
			want: [][]string{ActivationSteps[:4], nil, ActivationSteps[4:]}},
		{name: "regenerate seen wins over the caller's guess", observed: []string{"RegenerateActivationKey"},
			want: [][]string{{"RegenerateActivationKey"}, {"IssueActivationKey"}}},
		{name: "an unknown step is shown as is", observed: []string{"CallHome", "CallHome"},
			want: [][]string{{"CallHome"}, nil, ActivationSteps}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr StepTracker
			var got [][]string
			for _, s := range tc.observed {
				got = append(got, tr.Observe(s))
			}
			got = append(got, tr.Finish(tc.regenerate))
			if !slices.EqualFunc(got, tc.want, func(a, b []string) bool { return slices.Equal(a, b) }) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			if more := tr.Finish(false); len(more) != 0 {
				t.Errorf("a second Finish returned %q", more)
			}
		})
	}
}
