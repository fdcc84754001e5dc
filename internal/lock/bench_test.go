package lock_test

import (
	"fmt"
	"testing"

	"github.com/edgevault/edgevault/internal/errkind"
	"github.com/edgevault/edgevault/internal/lock"
	"github.com/edgevault/edgevault/internal/principal"
)

// BenchmarkCheck measures the check every mutating request makes (budget
// 10 µs per the ARM-core issue): 100 locks in the index, a deep target (an
// extension resource of a child resource), the real clock and a real
// SQLite store behind the 250 ms generation poll.
func BenchmarkCheck(b *testing.B) {
	st := openStore(b)
	s, err := lock.New(lock.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	caller := principal.Principal{ObjectID: principal.NewID()}
	for i := range 100 {
		scope := fmt.Sprintf("/subscriptions/S1/resourceGroups/group-%02d", i/4)
		if i%4 != 0 {
			scope += fmt.Sprintf("/providers/Microsoft.KeyVault/vaults/vault-%03d", i)
		}
		level := lock.CanNotDelete
		if i%10 == 0 {
			level = lock.ReadOnly
		}
		if _, _, err := s.Put(ctx, caller, id(b, scope), "lock", lock.Spec{Level: level}); err != nil {
			b.Fatal(err)
		}
	}
	deep := "/subscriptions/S1/resourceGroups/group-07/providers/Microsoft.KeyVault/vaults/vault-029/secrets/s1" +
		"/providers/Microsoft.Insights/diagnosticSettings/audit-logs"
	target := id(b, deep)
	for _, bc := range []struct {
		name string
		op   lock.Op
		want errkind.Kind
	}{
		{"allowed", lock.Write, errkind.Other},
		{"blocked", lock.Delete, errkind.Locked},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if err := s.Check(ctx, bc.op, target); errkind.KindOf(err) != bc.want {
				b.Fatalf("Check = %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Check(ctx, bc.op, target)
			}
		})
	}
}
