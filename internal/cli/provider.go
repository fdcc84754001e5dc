package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// providerInfo is a resource provider and its registration state in the
// subscription (reference/edge-arm.md §3.8).
type providerInfo struct {
	ID                 string                 `json:"id"`
	Namespace          string                 `json:"namespace"`
	RegistrationState  string                 `json:"registrationState"`
	RegistrationPolicy string                 `json:"registrationPolicy,omitempty"`
	ResourceTypes      []providerResourceType `json:"resourceTypes"`
}

// providerResourceType is one resource type a provider serves.
type providerResourceType struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
	APIVersions  []string `json:"apiVersions"`
}

func (p providerInfo) record() record {
	types := make([]string, 0, len(p.ResourceTypes))
	for _, t := range p.ResourceTypes {
		types = append(types, t.ResourceType)
	}
	return record{
		{"namespace", p.Namespace}, {"state", p.RegistrationState}, {"policy", p.RegistrationPolicy},
		{"resource types", strings.Join(types, ", ")}, {"id", p.ID},
	}
}

// Registration states that end a wait (§3.8): register ends Registered,
// unregister ends Unregistered (NotRegistered if it never was).
const (
	stateRegistered   = "Registered"
	stateRegistering  = "Registering"
	stateUnregistered = "Unregistered"
	stateNotReg       = "NotRegistered"
	stateUnregInProg  = "Unregistering"
)

func newProviderCmd(a *app) *cobra.Command {
	return newGroup("provider", "Manage resource provider registrations",
		newProviderListCmd(a), newProviderShowCmd(a),
		newProviderRegisterCmd(a, true), newProviderRegisterCmd(a, false))
}

// validNamespace checks a provider namespace: ASCII letters, digits and
// dots (§3.1).
func validNamespace(ns string) error {
	if ns == "" {
		return usagef("--namespace is required")
	}
	bad := len(ns) > 260
	for i := 0; i < len(ns) && !bad; i++ {
		c := ns[i]
		bad = !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.')
	}
	if bad {
		return usagef("invalid namespace %q: want letters, digits and dots, e.g. Microsoft.KeyVault", ns)
	}
	return nil
}

func providersPath(sub string) string { return "/subscriptions/" + sub + "/providers" }

func newProviderListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List resource providers and their registration state",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openARM()
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			ps, err := listAll[providerInfo](cmd.Context(), c, c.url(providersPath(sub), resourcesAPIVersion, nil))
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAMESPACE", "STATE"}}
			for _, p := range ps {
				t.rows = append(t.rows, []string{p.Namespace, p.RegistrationState})
			}
			return a.print(cmd.OutOrStdout(), ps, t)
		},
	}
}

func newProviderShowCmd(a *app) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:   "show --namespace NAMESPACE",
		Short: "Show a resource provider",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validNamespace(ns); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			var p providerInfo
			if _, err := c.do(cmd.Context(), http.MethodGet, c.url(providersPath(sub)+"/"+ns, resourcesAPIVersion, nil), nil, &p); err != nil {
				return err
			}
			return a.print(cmd.OutOrStdout(), p, p.record())
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "", "namespace of the provider, e.g. Microsoft.KeyVault")
	return cmd
}

// newProviderRegisterCmd returns `provider register` (register true) or
// `provider unregister`.
func newProviderRegisterCmd(a *app, register bool) *cobra.Command {
	verb, noun, ing, target, via := "register", "registration", "Registering", stateRegistered, stateRegistering
	if !register {
		verb, noun, ing, target, via = "unregister", "unregistration", "Unregistering", stateUnregistered, stateUnregInProg
	}
	var ns string
	var noWait bool
	cmd := &cobra.Command{
		Use:   verb + " --namespace NAMESPACE [--no-wait]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " the subscription with a resource provider",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validNamespace(ns); err != nil {
				return err
			}
			c, err := openARM()
			if err != nil {
				return err
			}
			sub, err := c.subscription()
			if err != nil {
				return err
			}
			get := c.url(providersPath(sub)+"/"+ns, resourcesAPIVersion, nil)
			post := c.url(providersPath(sub)+"/"+ns+"/"+verb, resourcesAPIVersion, nil)
			var p providerInfo
			r, err := c.do(cmd.Context(), http.MethodPost, post, nil, &p)
			if err != nil {
				return err
			}
			label := ing + " provider " + ns
			if r.status == http.StatusAccepted {
				// An asynchronous register (ARM allows it for POST
				// actions): follow the operation, then read the result.
				if err := a.finish(cmd, c, post, r, noWait, label); err != nil || noWait {
					return err
				}
				if _, err := c.do(cmd.Context(), http.MethodGet, get, nil, &p); err != nil {
					return err
				}
			} else if !noWait && p.RegistrationState == via {
				if p, err = c.waitProvider(cmd.Context(), get, target, via, r, newProgress(cmd.ErrOrStderr(), label)); err != nil {
					return err
				}
			}
			return a.print(cmd.OutOrStdout(), p, p.record())
		},
	}
	cmd.Flags().StringVarP(&ns, "namespace", "n", "", "namespace of the provider, e.g. Microsoft.KeyVault")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the "+noun+" to finish")
	return cmd
}

// waitProvider polls the provider at u while its state is via, until it
// is target. Another state (someone unregistered it meanwhile) is an
// error.
func (c *armClient) waitProvider(ctx context.Context, u, target, via string, r reply, prog *progress) (providerInfo, error) {
	defer prog.done()
	prog.update(via, nil)
	delay := retryAfter(r.header)
	for {
		if err := prog.wait(ctx, delay); err != nil {
			return providerInfo{}, fmt.Errorf("stopped waiting (%w); the provider is still %s", err, strings.ToLower(via))
		}
		var p providerInfo
		r, err := c.do(ctx, http.MethodGet, u, nil, &p)
		if err != nil {
			return providerInfo{}, err
		}
		prog.update(p.RegistrationState, nil)
		switch {
		case strings.EqualFold(p.RegistrationState, target),
			target == stateUnregistered && strings.EqualFold(p.RegistrationState, stateNotReg):
			return p, nil
		case !strings.EqualFold(p.RegistrationState, via):
			return p, fmt.Errorf("provider %s is %s, not %s", p.Namespace, p.RegistrationState, target)
		}
		delay = retryAfter(r.header)
	}
}
