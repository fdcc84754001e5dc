//go:build unix

package envelope

import (
	"io/fs"
	"os"

	"github.com/edgevault/edgevault/internal/errkind"
)

// checkPerm refuses a key file with any permission bit outside 0600: a key
// readable by the group or others, or executable, is a misconfiguration the
// operator must see, not one to fix silently.
func checkPerm(path string, m fs.FileMode) error {
	if m.Perm()&^0o600 != 0 {
		return errkind.E(errkind.Invalid,
			"envelope: key file %s has mode %04o; want 0600 or stricter (chmod 600 %s)", path, m.Perm(), path)
	}
	return nil
}

// syncDir fsyncs a directory so that a rename or link in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
