package envelope

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgevault/edgevault/internal/errkind"
)

// nextSuffix names the file that holds the new root key while a rotation is
// in progress: root.key.next beside root.key.
const nextSuffix = ".next"

// rootKeyIDLabel is the HMAC message that derives a root key's ID. The
// version suffix lets a future scheme derive different IDs.
const rootKeyIDLabel = "edgevault root key id v1"

// rootKey is a loaded root key. Only the GCM instance is kept; the raw bytes
// are cleared once it is built.
type rootKey struct {
	id   string
	aead cipher.AEAD
}

func newRootKey(raw []byte) (*rootKey, error) {
	a, err := newAEAD(raw)
	if err != nil {
		return nil, err
	}
	return &rootKey{id: rootKeyID(raw), aead: a}, nil
}

// rootKeyID names a root key without revealing it: HMAC-SHA256 keyed with
// the root key over a fixed label, truncated to 8 bytes. The output of a PRF
// under the key says nothing about the key; 64 bits is ample to tell the
// handful of root keys a deployment ever has apart.
func rootKeyID(raw []byte) string {
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(rootKeyIDLabel))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// ensureRootKey creates the root key file at path from r when it is absent,
// and reports whether it did. It refuses when path is absent but a rotation's
// .next file exists: the store then holds KEKs wrapped by a key that is
// missing, and a fresh key would only hide that.
func ensureRootKey(path string, r io.Reader) (bool, error) {
	_, err := os.Stat(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false, nil // loadRootFiles reports any other problem with the file
	}
	if _, err := os.Stat(path + nextSuffix); err == nil {
		return false, errkind.E(errkind.Invalid,
			"envelope: root key file %s is missing but %s exists; restore the root key file", path, path+nextSuffix)
	}
	raw, err := randomBytes(r, keySize)
	if err != nil {
		return false, err
	}
	defer clear(raw)
	err = createKeyFile(path, raw)
	if errors.Is(err, fs.ErrExist) {
		return false, nil // another process created it first: use theirs
	}
	return err == nil, err
}

// loadRootFiles reads the root key at path and, when a rotation is in
// progress, the new key at path.next (nil otherwise).
//
// It reads .next before root.key. A rotation ends by renaming .next over
// root.key, so reading in this order can only see "next, then next again"
// (deduplicated below) or "no next, then the new root"; the opposite order
// could see the old root and no .next, after the old key was already gone.
func loadRootFiles(path string) (root, next *rootKey, err error) {
	nextRaw, err := readKeyFile(path + nextSuffix)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	defer clear(nextRaw)
	rootRaw, err := readKeyFile(path)
	if err != nil {
		return nil, nil, err
	}
	defer clear(rootRaw)
	if root, err = newRootKey(rootRaw); err != nil {
		return nil, nil, err
	}
	if nextRaw != nil {
		if next, err = newRootKey(nextRaw); err != nil {
			return nil, nil, err
		}
		if next.id == root.id {
			next = nil
		}
	}
	return root, next, nil
}

// readKeyFile returns the 32 bytes of the key file at path. It refuses a
// file that is not regular, has the wrong size, or (on unix) is readable by
// anyone but its owner. Errors name the path, never the content; an absent
// file yields an error matching fs.ErrNotExist.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "envelope: opening key file "+path)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "envelope: reading key file "+path)
	}
	if !fi.Mode().IsRegular() {
		return nil, errkind.E(errkind.Invalid, "envelope: key file %s is not a regular file", path)
	}
	if err := checkPerm(path, fi.Mode()); err != nil {
		return nil, err
	}
	if fi.Size() != keySize {
		return nil, errkind.E(errkind.Invalid,
			"envelope: key file %s holds %d bytes; want exactly %d", path, fi.Size(), keySize)
	}
	raw := make([]byte, keySize)
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "envelope: reading key file "+path)
	}
	return raw, nil
}

// createKeyFile durably creates the key file at path holding key, failing
// with an error matching fs.ErrExist when path exists. It writes a temporary
// file in the same directory, fsyncs it, hard-links it into place and fsyncs
// the directory. A link, unlike a rename, never replaces an existing file:
// two processes starting at once, or two rotations, cannot overwrite a key
// that may already wrap KEKs.
func createKeyFile(path string, key []byte) error {
	dir, base := filepath.Dir(path), filepath.Base(path)
	f, err := os.CreateTemp(dir, tempPrefix(base)+"*") // mode 0600
	if err != nil {
		return errkind.Wrap(errkind.Unavailable, err, "envelope: creating key file "+path)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the link, path keeps the content
	_, err = f.Write(key)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return errkind.Wrap(errkind.Unavailable, err, "envelope: creating key file "+path)
	}
	return nil
}

// promoteKeyFile atomically renames from over to and fsyncs the directory,
// so after a crash either the old or the new key is at to, never neither.
func promoteKeyFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return errkind.Wrap(errkind.Unavailable, err, "envelope: replacing root key file "+to)
	}
	if err := syncDir(filepath.Dir(to)); err != nil {
		return errkind.Wrap(errkind.Unavailable, err, "envelope: syncing directory of "+to)
	}
	return nil
}

// tempPrefix is the name prefix of createKeyFile's temporary files. The
// leading dot keeps them out of casual listings.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// removeTemps deletes temporary files left by a createKeyFile that crashed
// before linking, for path and its .next file. They hold keys that never
// wrapped anything. Failures are ignored: the files are harmless.
func removeTemps(path string) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, tempPrefix(base)) || strings.HasPrefix(n, tempPrefix(base+nextSuffix)) {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
}
