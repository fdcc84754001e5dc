// Package resource is the vocabulary of Azure Resource Manager resource
// ids: parsing, formatting, parents, scope containment and name rules.
//
// Invariants (reference/edge-arm.md §3.1):
//   - An ID keeps the casing it was created with; String returns it.
//   - Comparison is case-insensitive: Key returns the lower-cased form, which
//     is what stores index and what Equal and Contains compare.
//   - Parse(id.String()) == id, and Parse accepts exactly what String can
//     produce (fuzzed).
package resource

import (
	"errors"
	"strings"
)

// ErrInvalidID is returned for any string that is not a resource id.
var ErrInvalidID = errors.New("resource: invalid resource id")

// Level says what an ID names.
type Level uint8

const (
	// Tenant is the root "/" (tenant-level providers hang off it).
	Tenant Level = iota
	Subscription
	ResourceGroup
	// Resource is a provider resource: .../providers/{ns}/{type}/{name},
	// possibly a child (.../{type}/{name}/{childType}/{childName}) or an
	// extension resource on another scope (a lock on a vault).
	Resource
)

// ID is a parsed resource id. The zero value is the tenant root.
type ID struct {
	parent *ID
	level  Level
	// Subscription, ResourceGroup: the segment value.
	// Resource: Namespace is set on the first type segment after
	// "/providers/"; a child resource has Namespace == "" and inherits its
	// parent's.
	subscription  string
	resourceGroup string
	namespace     string
	typ           string
	name          string
}

// Root is the tenant root, "/".
var Root = ID{}

// Level returns what the id names.
func (id ID) Level() Level { return id.level }

// Parent returns the enclosing scope; the root's parent is the root.
func (id ID) Parent() ID {
	if id.parent == nil {
		return Root
	}
	return *id.parent
}

// SubscriptionID returns the subscription the id lies in, or "".
func (id ID) SubscriptionID() string {
	for p := &id; p != nil; p = p.parent {
		if p.level == Subscription {
			return p.subscription
		}
	}
	return ""
}

// ResourceGroupName returns the resource group the id lies in, or "".
func (id ID) ResourceGroupName() string {
	for p := &id; p != nil; p = p.parent {
		if p.level == ResourceGroup {
			return p.resourceGroup
		}
	}
	return ""
}

// Name returns the last segment's name (subscription id, group name or
// resource name); "" for the root.
func (id ID) Name() string {
	switch id.level {
	case Subscription:
		return id.subscription
	case ResourceGroup:
		return id.resourceGroup
	case Resource:
		return id.name
	}
	return ""
}

// Namespace returns the resource provider namespace of a Resource id
// (e.g. "Microsoft.KeyVault"), inherited by child resources.
func (id ID) Namespace() string {
	for p := &id; p != nil && p.level == Resource; p = p.parent {
		if p.namespace != "" {
			return p.namespace
		}
	}
	return ""
}

// Type returns the full resource type of a Resource id, as ARM writes it:
// "Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/secrets",
// "Microsoft.Authorization/locks". It is "" for other levels; use
// TypeOf for the conventional names of subscriptions and groups.
func (id ID) Type() string {
	if id.level != Resource {
		return ""
	}
	var types []string
	p := &id
	for ; p != nil && p.level == Resource; p = p.parent {
		types = append(types, p.typ)
		if p.namespace != "" {
			break
		}
	}
	var b strings.Builder
	b.WriteString(p.namespace)
	for i := len(types) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(types[i])
	}
	return b.String()
}

// IsExtension reports whether the id is an extension resource: a provider
// resource attached to another resource (…/vaults/v1/providers/Microsoft.
// Authorization/locks/l1), rather than to a subscription or group.
func (id ID) IsExtension() bool {
	return id.level == Resource && id.namespace != "" && id.parent != nil && id.parent.level == Resource
}

// String returns the id with its original casing.
func (id ID) String() string {
	if id.level == Tenant {
		return "/"
	}
	var b strings.Builder
	id.write(&b)
	return b.String()
}

func (id ID) write(b *strings.Builder) {
	if id.parent != nil && id.parent.level != Tenant {
		id.parent.write(b)
	}
	switch id.level {
	case Subscription:
		b.WriteString("/subscriptions/")
		b.WriteString(id.subscription)
	case ResourceGroup:
		b.WriteString("/resourceGroups/")
		b.WriteString(id.resourceGroup)
	case Resource:
		if id.namespace != "" {
			b.WriteString("/providers/")
			b.WriteString(id.namespace)
		}
		b.WriteByte('/')
		b.WriteString(id.typ)
		b.WriteByte('/')
		b.WriteString(id.name)
	}
}

// Key returns the lower-cased id: the form stored in index columns and
// compared by Equal and Contains.
func (id ID) Key() string { return strings.ToLower(id.String()) }

// Equal reports whether two ids name the same thing (case-insensitive).
func (id ID) Equal(o ID) bool { return strings.EqualFold(id.String(), o.String()) }

// Contains reports whether scope contains id: id equals scope or lies
// below it. Every id is inside the root.
func (scope ID) Contains(id ID) bool {
	if scope.level == Tenant {
		return true
	}
	s, k := scope.Key(), id.Key()
	return k == s || strings.HasPrefix(k, s+"/")
}

// Ancestors returns the id and every scope above it, innermost first,
// ending with the root.
func (id ID) Ancestors() []ID {
	var out []ID
	for p := &id; p != nil; p = p.parent {
		out = append(out, *p)
		if p.level == Tenant {
			return out
		}
	}
	return append(out, Root)
}

// NewSubscription returns /subscriptions/{sub}.
func NewSubscription(sub string) ID {
	return ID{parent: &ID{}, level: Subscription, subscription: sub}
}

// NewResourceGroup returns /subscriptions/{sub}/resourceGroups/{name}.
func NewResourceGroup(sub, name string) ID {
	s := NewSubscription(sub)
	return ID{parent: &s, level: ResourceGroup, resourceGroup: name}
}

// Child returns parent/providers/{namespace}/{type}/{name} when namespace
// is set, and parent/{type}/{name} (a child resource) when it is empty.
func (id ID) Child(namespace, typ, name string) ID {
	p := id
	return ID{parent: &p, level: Resource, namespace: namespace, typ: typ, name: name}
}
