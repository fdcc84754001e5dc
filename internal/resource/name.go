package resource

import "fmt"

// ValidateResourceGroupName checks ARM's resource-group name rule: 1 to 90
// characters of letters, digits, '-', '_', '(', ')', '.', not ending in '.'
// (reference/edge-arm.md §3.1). Azure also allows Unicode letters; we
// accept ASCII only, so a name reads the same to every tool.
func ValidateResourceGroupName(name string) error {
	if len(name) == 0 || len(name) > 90 || name[len(name)-1] == '.' {
		return fmt.Errorf("resource group name %q must be 1-90 characters and must not end in a period", truncate(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '(' || c == ')' || c == '.') {
			return fmt.Errorf("resource group name %q may contain only letters, digits, '-', '_', '(', ')' and '.'", truncate(name))
		}
	}
	return nil
}

// ValidateLockName checks a management lock name: 1 to 260 characters,
// none of < > % & : \ ? / and no control characters.
func ValidateLockName(name string) error {
	if len(name) == 0 || len(name) > 260 {
		return fmt.Errorf("lock name must be 1-260 characters")
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < 0x20, c == 0x7f, c == '<', c == '>', c == '%', c == '&', c == ':', c == '\\', c == '?', c == '/':
			return fmt.Errorf("lock name %q contains a character that is not allowed", truncate(name))
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
