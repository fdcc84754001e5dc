package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/uuid"
)

// lockDataDir takes an exclusive advisory lock on <data-dir>/lock, so that
// two servers never share one data directory (one root key file, one
// SQLite database, one bootstrap.json). The lock dies with the process, so
// a kill -9 never leaves a stale lock behind.
func lockDataDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by another edgevault server", dir)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return func() { f.Close() }, nil
}

// replicaIDFile holds the replica's id, created on its first start.
const replicaIDFile = "replica-id"

// replicaID returns this data directory's replica id: a UUID made on the
// first start and kept. Since one process at a time holds a data
// directory, whatever a previous process with this id left running died
// with it (jobs.Queue resumes it at once).
func replicaID(dir string) (string, error) {
	path := filepath.Join(dir, replicaIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if uuid.Validate(id) != nil {
			return "", fmt.Errorf("%s does not hold a replica id; remove it to make a new one", path)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	id := uuid.NewString()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	return id, nil
}
