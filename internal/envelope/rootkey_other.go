//go:build !unix

package envelope

import "io/fs"

// checkPerm accepts any mode: outside unix, file permissions are ACLs that
// a mode cannot describe.
func checkPerm(string, fs.FileMode) error { return nil }

// syncDir does nothing: Windows cannot fsync a directory, and renames on
// NTFS are journaled.
func syncDir(string) error { return nil }
