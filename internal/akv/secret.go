package akv

// The secrets API's JSON models, field names exactly as on the wire
// (reference/keyvault-wire.md §1.4; Go azsecrets v1.5.1 models_serde.go).

// SecretAttributes are a secret version's attributes. The read-only ones
// (created, updated, recoverableDays, recoveryLevel) are ignored in
// requests.
type SecretAttributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoverableDays *int32 `json:"recoverableDays,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
}

// SecretBundle is a secret version: the answer of get, set, update,
// recover and restore. Value is present only in get and set answers.
type SecretBundle struct {
	Value       *string           `json:"value,omitempty"`
	ID          string            `json:"id"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  SecretAttributes  `json:"attributes"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// DeletedSecretBundle is a soft-deleted secret: the answer of delete and
// get-deleted. Its id keeps the /secrets/{name}/{version} form.
type DeletedSecretBundle struct {
	SecretBundle
	RecoveryID         string `json:"recoveryId,omitempty"`
	ScheduledPurgeDate *int64 `json:"scheduledPurgeDate,omitempty"`
	DeletedDate        *int64 `json:"deletedDate,omitempty"`
}

// SecretItem is one entry of a list: no value; the id is the base id in
// /secrets and the versioned id in /secrets/{name}/versions.
type SecretItem struct {
	ID          string            `json:"id"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  SecretAttributes  `json:"attributes"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// DeletedSecretItem is one entry of /deletedsecrets.
type DeletedSecretItem struct {
	SecretItem
	RecoveryID         string `json:"recoveryId,omitempty"`
	ScheduledPurgeDate *int64 `json:"scheduledPurgeDate,omitempty"`
	DeletedDate        *int64 `json:"deletedDate,omitempty"`
}

// SecretListResult is a page of /secrets or /secrets/{name}/versions.
// NextLink is absolute and null on the last page.
type SecretListResult struct {
	Value    []SecretItem `json:"value"`
	NextLink *string      `json:"nextLink"`
}

// DeletedSecretListResult is a page of /deletedsecrets.
type DeletedSecretListResult struct {
	Value    []DeletedSecretItem `json:"value"`
	NextLink *string             `json:"nextLink"`
}

// SecretSetParameters is the body of PUT /secrets/{name}. Value is
// required; a pointer tells "" from absent. A tag whose value is null is
// kept with an empty value.
type SecretSetParameters struct {
	Value       *string            `json:"value"`
	ContentType *string            `json:"contentType,omitempty"`
	Attributes  *SecretAttributes  `json:"attributes,omitempty"`
	Tags        map[string]*string `json:"tags,omitempty"`
}

// SecretUpdateParameters is the body of PATCH /secrets/{name}/{version}:
// absent (or null) fields stay as they are; "tags":{} removes every tag.
type SecretUpdateParameters struct {
	ContentType *string            `json:"contentType,omitempty"`
	Attributes  *SecretAttributes  `json:"attributes,omitempty"`
	Tags        map[string]*string `json:"tags,omitempty"`
}

// BackupSecretResult is the answer of POST /secrets/{name}/backup; Value
// is EncodeBlob of the blob.
type BackupSecretResult struct {
	Value string `json:"value"`
}

// SecretRestoreParameters is the body of POST /secrets/restore.
type SecretRestoreParameters struct {
	Value *string `json:"value"`
}
