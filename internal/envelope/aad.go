package envelope

import "encoding/binary"

// AAD encodes the coordinates of the row a value lives in (vault, object
// name, version, ...) as additional authenticated data for Seal and Open.
//
// Each part is prefixed with its length as a uvarint. A sequence of
// length-prefixed strings decodes one way only, so the encoding is
// injective: ("ab", "c"), ("a", "bc") and ("a", "b", "c") all differ, and so
// do ("a") and ("a", ""). Joining with a separator would not be, since a
// secret name may contain the separator.
//
// Callers pass every coordinate, in a fixed order, with a leading literal
// naming the kind of object, for example
//
//	envelope.AAD("secret", vaultID, name, version)
//
// so a ciphertext copied onto another row, or into another table, fails to
// open.
func AAD(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}
