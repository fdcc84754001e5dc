package envelope

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the seed corpus in testdata/fuzz/FuzzOpen")

// The fuzz keyring is deterministic: a fixed root key and a seeded random
// source, sealing fixed values in a fixed order. So the valid blobs in
// testdata/fuzz/FuzzOpen open in every run, the fuzzer mutates real
// ciphertexts, and TestFuzzSeeds doubles as a golden test that blobs written
// by earlier versions of this package still open.
const fuzzScope = "vault"

var (
	fuzzAAD    = AAD("secret", fuzzScope, "name", "1")
	fuzzValues = [][]byte{nil, []byte("hello"), bytes.Repeat([]byte("x"), 300)}
)

// lockedReader makes a deterministic source safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// fuzzKeyring returns the deterministic keyring and the blobs it seals.
func fuzzKeyring(t testing.TB) (*Keyring, [][]byte) {
	t.Helper()
	f := newFixture(t)
	root := make([]byte, keySize)
	for i := range root {
		root[i] = byte(i)
	}
	if err := os.WriteFile(f.path, root, 0o600); err != nil {
		t.Fatal(err)
	}
	src := &lockedReader{r: rand.NewChaCha8([32]byte{'e', 'd', 'g', 'e'})}
	k := f.keyring(t, func(c *Config) { c.Rand = src })
	var blobs [][]byte
	for _, v := range fuzzValues {
		b, err := k.Seal(t.Context(), fuzzScope, fuzzAAD, v)
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	return k, blobs
}

// malformedSeeds are parser edge cases, kept in the corpus.
var malformedSeeds = map[string][]byte{
	"empty":         {},
	"format-only":   {formatV1},
	"format-2":      {2, 1},
	"version-0":     {formatV1, 0},
	"noncanonical":  {formatV1, 0x81, 0x00},
	"varint-11":     bytes.Repeat([]byte{0xff}, 11),
	"header-only":   {formatV1, 1},
	"short-by-one":  append([]byte{formatV1, 1}, make([]byte, wrappedKeySize+nonceSize+tagSize-1)...),
	"zero-min-blob": append([]byte{formatV1, 1}, make([]byte, wrappedKeySize+nonceSize+tagSize)...),
}

func FuzzOpen(f *testing.F) {
	k, blobs := fuzzKeyring(f)
	for _, b := range blobs {
		f.Add(b)
	}
	for _, b := range malformedSeeds {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, blob []byte) {
		got, err := k.Open(t.Context(), fuzzScope, fuzzAAD, blob)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v is not ErrDecrypt", err)
			}
			return
		}
		// Every byte is authenticated: only an unmodified blob opens.
		for i, b := range blobs {
			if bytes.Equal(blob, b) {
				if !bytes.Equal(got, fuzzValues[i]) {
					t.Fatalf("Open = %q, want %q", got, fuzzValues[i])
				}
				return
			}
		}
		t.Fatalf("Open accepted a blob Seal never made: %x", blob)
	})
}

// TestFuzzSeeds checks the corpus: every valid-* seed opens to its value.
// With -update it rewrites the corpus from fuzzKeyring first.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	k, blobs := fuzzKeyring(t)
	if *update {
		seeds := map[string][]byte{}
		for i, b := range blobs {
			seeds[fmt.Sprint("valid-", i)] = b
		}
		for name, b := range malformedSeeds {
			seeds["malformed-"+name] = b
		}
		for name, b := range seeds {
			data := fmt.Sprintf("go test fuzz v1\n[]byte(%+q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, want := range fuzzValues {
		blob := readSeed(t, filepath.Join(dir, fmt.Sprint("valid-", i)))
		got, err := k.Open(t.Context(), fuzzScope, fuzzAAD, blob)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("seed valid-%d: Open = %q, %v; want %q (a stored blob no longer opens: keep old formats readable)", i, got, err, want)
		}
	}
}

// readSeed parses a one-value []byte corpus file.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(string(data), "go test fuzz v1\n[]byte(")
	body, ok2 := strings.CutSuffix(strings.TrimSpace(body), ")")
	s, err := strconv.Unquote(body)
	if !ok || !ok2 || err != nil {
		t.Fatalf("%s: not a []byte corpus file", path)
	}
	return []byte(s)
}
