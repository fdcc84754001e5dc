package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/edgevault/edgevault/internal/errkind"
)

// Sizes of the AES-256-GCM construction used at every level.
const (
	keySize        = 32 // AES-256
	nonceSize      = 12 // GCM standard nonce
	tagSize        = 16 // GCM full-length tag
	boxOverhead    = nonceSize + tagSize
	wrappedKeySize = keySize + boxOverhead // a sealed 32-byte key: 60 bytes
)

// formatV1 is the first byte of every blob Seal produces today. A new
// layout gets a new byte, and Open keeps reading the old ones.
const formatV1 byte = 1

// maxKEKVersion bounds the version a blob may name, so that it fits an int
// everywhere and a hostile blob cannot name an absurd version.
const maxKEKVersion = math.MaxInt32

// blob is a parsed version-1 value:
//
//	format      1 byte, formatV1
//	kekVersion  uvarint, canonical (shortest) encoding, 1..maxKEKVersion
//	wrappedDEK  60 bytes: nonce || AES-GCM(KEK, DEK, dekAAD)
//	nonce       12 bytes
//	ciphertext  AES-GCM(DEK, plaintext, caller AAD), tag included
//
// Every byte is authenticated: the format byte by construction (any other
// byte is rejected), the KEK version through dekAAD, the rest by GCM. The
// varint must be canonical so that no two encodings of one blob open.
type blob struct {
	kekVersion int
	wrappedDEK []byte
	nonce      []byte
	ciphertext []byte
}

// appendHeader appends the format byte and KEK version of a blob to dst.
func appendHeader(dst []byte, kekVersion int) []byte {
	dst = append(dst, formatV1)
	return binary.AppendUvarint(dst, uint64(kekVersion))
}

// parseBlob splits data into its fields without copying. It accepts any
// input: whatever the bytes, it returns a blob or an ErrDecrypt, never
// panics (FuzzOpen).
func parseBlob(data []byte) (blob, error) {
	if len(data) == 0 {
		return blob{}, decryptError("empty value")
	}
	if data[0] != formatV1 {
		return blob{}, decryptError(fmt.Sprintf("unknown format %d", data[0]))
	}
	v, n := binary.Uvarint(data[1:])
	if n <= 0 {
		return blob{}, decryptError("malformed key version")
	}
	if v == 0 || v > maxKEKVersion {
		return blob{}, decryptError("key version out of range")
	}
	var canon [binary.MaxVarintLen64]byte
	if binary.PutUvarint(canon[:], v) != n {
		return blob{}, decryptError("non-canonical key version")
	}
	rest := data[1+n:]
	if len(rest) < wrappedKeySize+nonceSize+tagSize {
		return blob{}, decryptError("truncated value")
	}
	return blob{
		kekVersion: int(v),
		wrappedDEK: rest[:wrappedKeySize],
		nonce:      rest[wrappedKeySize : wrappedKeySize+nonceSize],
		ciphertext: rest[wrappedKeySize+nonceSize:],
	}, nil
}

// newAEAD returns AES-256-GCM keyed with key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, errkind.E(errkind.Internal, "envelope: key of %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "envelope: creating cipher")
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errkind.Wrap(errkind.Internal, err, "envelope: creating GCM")
	}
	return a, nil
}

// sealBox appends nonce || AES-GCM(plaintext, aad) to dst, with a fresh
// random nonce read from r.
func sealBox(dst []byte, r io.Reader, a cipher.AEAD, plaintext, aad []byte) ([]byte, error) {
	dst = slices.Grow(dst, nonceSize+len(plaintext)+tagSize)
	n := len(dst)
	dst = dst[:n+nonceSize]
	if _, err := io.ReadFull(r, dst[n:]); err != nil {
		return nil, randError(err)
	}
	return a.Seal(dst, dst[n:], plaintext, aad), nil
}

// openBox opens a sealBox output. Its error says nothing beyond "does not
// authenticate"; callers choose the kind.
func openBox(a cipher.AEAD, box, aad []byte) ([]byte, error) {
	if len(box) < boxOverhead {
		return nil, errBoxShort
	}
	return a.Open(nil, box[:nonceSize], box[nonceSize:], aad)
}

var errBoxShort = errkind.E(errkind.Invalid, "envelope: sealed box too short")

// randomBytes returns n bytes from r.
func randomBytes(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, randError(err)
	}
	return b, nil
}

func randError(err error) error {
	return errkind.Wrap(errkind.Unavailable, err, "envelope: reading random bytes")
}
