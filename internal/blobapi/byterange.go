package blobapi

import (
	"strconv"
	"strings"
)

// ByteRange is a parsed Range or x-ms-range header value: a single range
// of the "bytes" unit (RFC 9110 §14.1.2). Start < 0 marks a suffix range
// (the last SuffixLen bytes); End < 0 an open range ("bytes=N-").
type ByteRange struct {
	Start, End int64
	SuffixLen  int64
}

// maxDigits keeps every parsed offset below 2^63.
const maxDigits = 18

// ParseRange parses a Range header value. Azure Blob accepts one range
// only ("bytes=start-end", "bytes=start-"); suffix ranges ("bytes=-n")
// are accepted too, as RFC 9110 defines them. Anything else, including
// several ranges, whitespace inside numbers or end < start, is an error.
func ParseRange(v string) (ByteRange, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok {
		return ByteRange{}, errBadRange
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return ByteRange{}, errBadRange
	}
	if first == "" {
		n, ok := parseOffset(last)
		if !ok {
			return ByteRange{}, errBadRange
		}
		return ByteRange{Start: -1, End: -1, SuffixLen: n}, nil
	}
	start, ok := parseOffset(first)
	if !ok {
		return ByteRange{}, errBadRange
	}
	if last == "" {
		return ByteRange{Start: start, End: -1}, nil
	}
	end, ok := parseOffset(last)
	if !ok || end < start {
		return ByteRange{}, errBadRange
	}
	return ByteRange{Start: start, End: end}, nil
}

func parseOffset(s string) (int64, bool) {
	if s == "" || len(s) > maxDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Resolve returns the offset and length of the range within a blob of
// size bytes. A range that starts at or past the end, or a zero-length
// suffix, is unsatisfiable (416); an end past the end is clipped.
func (r ByteRange) Resolve(size int64) (off, n int64, err error) {
	switch {
	case r.Start < 0:
		if r.SuffixLen == 0 || size == 0 {
			return 0, 0, errRangeNotSat
		}
		n = min(r.SuffixLen, size)
		return size - n, n, nil
	case r.Start >= size:
		return 0, 0, errRangeNotSat
	case r.End < 0:
		return r.Start, size - r.Start, nil
	}
	return r.Start, min(r.End, size-1) - r.Start + 1, nil
}
