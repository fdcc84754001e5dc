package resource

import "strings"

// maxIDLength bounds what Parse accepts; ARM ids are far shorter.
const maxIDLength = 4096

// Parse parses an ARM resource id. The "subscriptions", "resourceGroups"
// and "providers" keywords are matched case-insensitively, as ARM does, and
// kept in their canonical spelling by String. Every segment must be
// non-empty, and names may not contain characters that cannot round-trip
// through a URL path ('/', '?', '#', control characters).
func Parse(s string) (ID, error) {
	if len(s) > maxIDLength || !strings.HasPrefix(s, "/") {
		return ID{}, ErrInvalidID
	}
	if s == "/" {
		return Root, nil
	}
	segs := strings.Split(s[1:], "/")
	for _, seg := range segs {
		if !validSegment(seg) {
			return ID{}, ErrInvalidID
		}
	}
	id := Root
	i := 0
	if strings.EqualFold(segs[0], "subscriptions") {
		if len(segs) < 2 {
			return ID{}, ErrInvalidID
		}
		id = NewSubscription(segs[1])
		i = 2
		if i < len(segs) && strings.EqualFold(segs[i], "resourceGroups") {
			if i+1 >= len(segs) {
				return ID{}, ErrInvalidID
			}
			id = NewResourceGroup(segs[1], segs[i+1])
			i += 2
		}
	}
	return parseResources(id, segs[i:])
}

// parseResources parses the provider part: a sequence of
// "providers/{ns}/{type}/{name}" and "{type}/{name}" pairs.
func parseResources(id ID, segs []string) (ID, error) {
	inProvider := id.level == Resource
	for len(segs) > 0 {
		ns := ""
		if strings.EqualFold(segs[0], "providers") {
			if len(segs) < 4 {
				return ID{}, ErrInvalidID
			}
			ns, segs = segs[1], segs[2:]
			inProvider = true
		}
		if !inProvider || len(segs) < 2 || isKeyword(segs[0]) {
			return ID{}, ErrInvalidID
		}
		id = id.Child(ns, segs[0], segs[1])
		segs = segs[2:]
	}
	return id, nil
}

func isKeyword(s string) bool {
	return strings.EqualFold(s, "providers") || strings.EqualFold(s, "subscriptions") || strings.EqualFold(s, "resourceGroups")
}

func validSegment(s string) bool {
	if s == "" || len(s) > 260 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '?' || c == '#' || c == '\\' || c == '%' {
			return false
		}
	}
	return true
}
