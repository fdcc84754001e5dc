package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/edgevault/edgevault/internal/resource"
)

// Format is the version of the canonical encoding that Link hashes. Every
// stored entry records the format it was hashed with, so a later version
// (a new Record field) leaves older entries verifiable. Changing what
// version 1 encodes would make every stored chain fail verification; a
// golden test guards it.
const Format = 1

// Genesis returns the PrevHash of the first entry of every chain: 32 zero
// bytes.
func Genesis() []byte { return make([]byte, sha256.Size) }

// Link returns the hash of the entry with sequence number seq holding r,
// following the entry whose hash is prev: SHA-256(prev || canonical(seq, r)).
// r must be normalized (Normalize), as every stored record is.
func Link(prev []byte, seq int64, r Record) []byte {
	var buf [512]byte
	b := append(buf[:0], prev...)
	b = appendCanonical(b, seq, r)
	sum := sha256.Sum256(b)
	return sum[:]
}

// appendCanonical appends the version-1 encoding of seq and r: fields in a
// fixed order, integers as 8 big-endian bytes, text as a uvarint length
// then its bytes, optional values behind a presence byte. No two
// (seq, record) pairs share an encoding.
func appendCanonical(b []byte, seq int64, r Record) []byte {
	b = append(b, Format)
	b = appendInt(b, seq)
	b = appendTime(b, r.Time)
	b = appendString(b, r.ResourceID.String())
	b = appendString(b, string(r.OperationName))
	b = appendString(b, r.OperationVersion)
	b = appendString(b, string(r.Category))
	b = appendString(b, string(r.ResultType))
	b = appendString(b, r.ResultSignature)
	b = appendString(b, r.ResultDescription)
	b = appendInt(b, r.DurationMs)
	b = appendString(b, addrString(r.CallerIPAddress))
	b = appendString(b, r.CorrelationID)
	b = appendString(b, r.RequestID)
	id := r.Identity
	for _, s := range []string{id.TenantID, id.ObjectID, id.AppID, id.UPN, id.IDType} {
		b = appendString(b, s)
	}
	p := r.Properties
	b = appendString(b, p.ID)
	b = appendString(b, p.RequestURI)
	b = appendInt(b, int64(p.HTTPStatusCode))
	b = appendString(b, p.ClientInfo)
	switch {
	case p.IsAccessPolicyMatch == nil:
		b = append(b, 0)
	case *p.IsAccessPolicyMatch:
		b = append(b, 2)
	default:
		b = append(b, 1)
	}
	b = appendString(b, p.TLSVersion)
	if sp := p.SecretProperties; sp == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = append(b, boolByte(sp.Enabled))
		b = appendTime(b, sp.NotBefore)
		b = appendTime(b, sp.Expires)
	}
	return b
}

func appendInt(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return appendInt(append(b, 1), t.UnixNano())
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// ErrChainBroken is the cause of every ChainError: the stored records of a
// resource are not the ones that were written.
var ErrChainBroken = errors.New("audit: hash chain broken")

// ChainError says where a chain first fails verification.
type ChainError struct {
	ResourceID resource.ID
	Seq        int64  // the first entry that does not verify
	Problem    string // what is wrong with it
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit: hash chain of %s broken at entry %d: %s", e.ResourceID, e.Seq, e.Problem)
}

func (e *ChainError) Unwrap() error { return ErrChainBroken }

// Verification is the result of a successful Verify.
type Verification struct {
	Entries int64  // entries verified, 1..Head.Seq
	Head    []byte // the hash of the last one (Genesis when none)
}

// chainReader is what verification reads.
type chainReader interface {
	AuditHead(ctx context.Context, id resource.ID) (Head, error)
	AuditChain(ctx context.Context, id resource.ID, afterSeq int64, limit int) ([]Entry, error)
}

// verifyPage is how many entries verification reads at a time.
const verifyPage = 1000

// verify walks the chain of id from its first entry to the head read at
// the start (entries appended meanwhile are left for the next run). It
// checks that sequence numbers run 1..head without gaps, that each entry
// names its predecessor's hash, that each hash is the hash of what is
// stored, that the last hash is the head's, and that no entry lies past
// the head. It does not detect entries
// removed from the end together with a matching change to the head: that
// needs the head kept elsewhere (an export, a receipt).
func verify(ctx context.Context, s chainReader, id resource.ID) (Verification, error) {
	head, err := s.AuditHead(ctx, id)
	if err != nil {
		return Verification{}, err
	}
	broken := func(seq int64, format string, args ...any) error {
		return &ChainError{ResourceID: id, Seq: seq, Problem: fmt.Sprintf(format, args...)}
	}
	prev, seq := Genesis(), int64(0)
	for seq < head.Seq {
		page, err := s.AuditChain(ctx, id, seq, int(min(verifyPage, head.Seq-seq)))
		if err != nil {
			return Verification{}, err
		}
		if len(page) == 0 {
			return Verification{}, broken(seq+1, "missing (the chain head is at %d)", head.Seq)
		}
		for _, e := range page {
			switch {
			case e.Seq != seq+1:
				return Verification{}, broken(seq+1, "missing (next stored entry is %d)", e.Seq)
			case e.Format != Format:
				return Verification{}, broken(e.Seq, "unknown encoding format %d", e.Format)
			case !bytes.Equal(e.PrevHash, prev):
				return Verification{}, broken(e.Seq, "does not follow entry %d", seq)
			case !bytes.Equal(Link(prev, e.Seq, e.Record), e.Hash):
				return Verification{}, broken(e.Seq, "content does not match its hash")
			}
			prev, seq = e.Hash, e.Seq
		}
	}
	if !bytes.Equal(prev, head.Hash) && head.Seq > 0 {
		return Verification{}, broken(head.Seq, "does not match the chain head")
	}
	// An entry past the head is either appended since the head was read
	// (the head has moved past it by now) or was put there behind the
	// head's back: a forged entry, or a deleted head.
	extra, err := s.AuditChain(ctx, id, seq, 1)
	if err != nil {
		return Verification{}, err
	}
	if len(extra) > 0 {
		now, err := s.AuditHead(ctx, id)
		if err != nil {
			return Verification{}, err
		}
		if now.Seq < extra[0].Seq {
			return Verification{}, broken(extra[0].Seq, "stored past the chain head (at %d)", now.Seq)
		}
	}
	return Verification{Entries: seq, Head: prev}, nil
}

// addrString is the stored form of an address: "" when there is none.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
