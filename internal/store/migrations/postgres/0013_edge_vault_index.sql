-- The key vault an edge resource's escrow uses, lower-cased (empty before
-- activation provisions one), so that a vault's deletion finds the devices
-- that depend on it without scanning them (internal/edge VaultChanged).
ALTER TABLE edge_devices ADD COLUMN vault_key TEXT NOT NULL DEFAULT '';
CREATE INDEX edge_devices_vault ON edge_devices (vault_key);
