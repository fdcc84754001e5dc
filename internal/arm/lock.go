package arm

// Lock is a Microsoft.Authorization/locks resource (api-version 2020-05-01;
// 2016-09-01 has the same shape).
type Lock struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties LockProperties `json:"properties"`
}

// LockProperties are a lock's settable properties.
type LockProperties struct {
	Level  string      `json:"level"`
	Notes  string      `json:"notes,omitempty"`
	Owners []LockOwner `json:"owners,omitempty"`
}

// LockOwner names an application that owns a lock.
type LockOwner struct {
	ApplicationID string `json:"applicationId"`
}

// LockPut is the body of a lock PUT; read-only fields are accepted and
// ignored so a GET body can be sent back.
type LockPut struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties LockProperties `json:"properties"`
}
