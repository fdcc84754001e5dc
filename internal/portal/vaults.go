package portal

// The key vault pages. (Being written.)

// vaultRoutes registers the key vault pages.
func (h *Handler) vaultRoutes() {}
