package lock

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/resource"
)

// Op is the kind of control-plane change a request makes. The zero value
// is not an Op: a check with it fails closed.
type Op uint8

const (
	_      Op = iota
	Write     // PUT or PATCH: create, replace or update
	Delete    // DELETE
	Action    // POST: listKeys, regenerate, start, ...
)

// String returns the op's name.
func (op Op) String() string {
	switch op {
	case Write:
		return "write"
	case Delete:
		return "delete"
	case Action:
		return "action"
	}
	return "invalid"
}

// verb is the word Azure's ScopeLocked message uses. ARM reports a POST
// blocked by a ReadOnly lock as a write ("… cannot perform write operation
// …", observed on storage listKeys), so Action says "write" too.
func (op Op) verb() string {
	if op == Delete {
		return "delete"
	}
	return "write"
}

// blocks reports whether a lock of level lv forbids op. A level this
// package does not know (a damaged row) blocks everything: fail closed.
func blocks(lv Level, op Op) bool {
	if lv == CanNotDelete {
		return op == Delete
	}
	return true
}

// Checker is the one question domain code asks before a control-plane
// change: may op be applied to target? Implementations return nil or an
// errkind.Locked error carrying Azure's ScopeLocked message.
type Checker interface {
	// Check considers the locks at target and at every scope that contains
	// it (resource.ID.Contains), including the resource an extension
	// resource extends.
	Check(ctx context.Context, op Op, target resource.ID) error
	// CheckSubtree is Check plus every lock below scope: for deleting a
	// container, which must fail whole when anything inside is locked.
	CheckSubtree(ctx context.Context, op Op, scope resource.ID) error
}

// Evaluate returns the error the locks impose on op at target, or nil. It
// is the rule itself, for callers that read the locks themselves (store
// code re-checking inside the transaction that deletes a container);
// locks that do not apply to target are ignored. With subtree set it
// judges like CheckSubtree.
func Evaluate(op Op, target resource.ID, subtree bool, locks []Lock) error {
	if err := checkOp(op); err != nil || IsLockID(target) {
		return err
	}
	var scopes []lockedScope
	for _, l := range locks {
		scope := l.Scope()
		if !blocks(l.Level, op) || !(scope.Contains(target) || (subtree && target.Contains(scope))) {
			continue
		}
		scopes = append(scopes, lockedScope{key: scope.Key(), text: scope.String()})
	}
	return lockedError(op, target, scopes)
}

// checkOp rejects the zero Op and unknown values.
func checkOp(op Op) error {
	if op < Write || op > Action {
		return errkind.E(errkind.Internal, "lock: check with invalid op %d", op)
	}
	return nil
}

// lockedScope is a scope whose lock blocks the change: its key for
// ordering and de-duplication, its text (as the lock was created) for the
// message.
type lockedScope struct {
	key, text string
}

// lockedError builds Azure's ScopeLocked error (reference/edge-arm.md
// §3.4, wording as observed in Azure/apiops#606), or returns nil when no
// scope blocks. Each scope is named once, in key order, so an enclosing
// scope comes before the scopes inside it.
func lockedError(op Op, target resource.ID, scopes []lockedScope) error {
	if len(scopes) == 0 {
		return nil
	}
	slices.SortFunc(scopes, func(a, b lockedScope) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.text, b.text))
	})
	scopes = slices.CompactFunc(scopes, func(a, b lockedScope) bool { return a.key == b.key })
	var b strings.Builder
	b.WriteString("The scope '")
	b.WriteString(target.String())
	b.WriteString("' cannot perform ")
	b.WriteString(op.verb())
	b.WriteString(" operation because following scope(s) are locked: ")
	for i, s := range scopes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		b.WriteString(s.text)
		b.WriteByte('\'')
	}
	b.WriteString(". Please remove the lock and try again.")
	return &errkind.Error{Kind: errkind.Locked, Message: b.String()}
}

// Uncached returns a Checker that reads the locks from the store on every
// call, bypassing the index and its staleness window: for the last check
// before a deletion that cannot be undone. It costs two queries.
func (s *Service) Uncached() Checker { return uncached{s.store} }

type uncached struct{ store Store }

func (u uncached) Check(ctx context.Context, op Op, target resource.ID) error {
	return u.check(ctx, op, target, false)
}

func (u uncached) CheckSubtree(ctx context.Context, op Op, scope resource.ID) error {
	return u.check(ctx, op, scope, true)
}

func (u uncached) check(ctx context.Context, op Op, target resource.ID, subtree bool) error {
	if err := checkOp(op); err != nil || IsLockID(target) {
		return err
	}
	locks, err := u.store.LocksAtOrAbove(ctx, target)
	if err != nil {
		return err
	}
	if subtree {
		below, err := u.store.LocksBelow(ctx, target)
		if err != nil {
			return err
		}
		locks = append(locks, below...)
	}
	return Evaluate(op, target, subtree, locks)
}
