package blobapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/edgevault/edgevault/internal/blob"
	"github.com/edgevault/edgevault/internal/httpx"
)

// getBlob serves Get Blob (GET) and Get Blob Properties (HEAD). x-ms-range
// wins over Range, as in Azure; a range answers 206 with Content-Range, an
// unsatisfiable one 416 with "Content-Range: bytes */size".
func (h *Handler) getBlob(x *exchange) error {
	ctx := x.r.Context()
	var rng *ByteRange
	if v := x.r.Header.Get("x-ms-range"); v != "" || x.r.Header.Get("Range") != "" {
		if v == "" {
			v = x.r.Header.Get("Range")
		}
		r, err := ParseRange(v)
		if err != nil {
			return err
		}
		rng = &r
	}
	// The first read takes the properties only; the bytes come from a
	// second, after the range is resolved against the size. Both carry
	// the ETag they saw, and the second must match the first, so the
	// response is one state of the blob even while it grows.
	props, _, err := h.cfg.Blobs.Read(ctx, x.account.Key(), x.container, x.blob, 0, 0)
	if err != nil {
		return err
	}
	if err := preconditions(x.r, props); err != nil {
		return err
	}
	off, n := int64(0), props.Size
	if rng != nil {
		if off, n, err = rng.Resolve(props.Size); err != nil {
			x.w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(props.Size, 10))
			return err
		}
	}
	hd := h.headers(x)
	hd.Set("Content-Type", contentType)
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	hd.Set("ETag", props.ETag())
	hd.Set("Last-Modified", httpTime(props.Modified))
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("x-ms-creation-time", httpTime(props.Created))
	hd.Set("x-ms-blob-type", "AppendBlob")
	hd.Set("x-ms-blob-committed-block-count", strconv.FormatInt(props.Appends, 10))
	hd.Set("x-ms-lease-status", "unlocked")
	hd.Set("x-ms-lease-state", "available")
	hd.Set("x-ms-server-encrypted", "true")
	status := http.StatusOK
	if rng != nil {
		status = http.StatusPartialContent
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+n-1, 10)+"/"+strconv.FormatInt(props.Size, 10))
	}
	if x.r.Method == http.MethodHead || n == 0 {
		x.w.WriteHeader(status)
		return nil
	}
	// The bytes go out in windows, one read each, so a large blob is
	// never held in memory. Every window shows the same bytes the first
	// read promised: chunks are immutable and a blob only grows. Should a
	// window fail after the status is sent, the connection ends short of
	// Content-Length and the client sees a truncated body (azblob's retry
	// reader then resumes with If-Match).
	first, err := h.window(x, props, off, min(n, readWindow))
	if err != nil {
		return err
	}
	x.w.WriteHeader(status)
	_, _ = x.w.Write(first)
	for done := int64(len(first)); done < n; {
		data, err := h.window(x, props, off+done, min(n-done, readWindow))
		if err != nil {
			h.cfg.Logger.ErrorContext(ctx, "blob download cut short", "err", err, "request_id", httpx.RequestID(ctx))
			panic(http.ErrAbortHandler)
		}
		if _, err := x.w.Write(data); err != nil {
			return nil // the client went away
		}
		done += int64(len(data))
	}
	return nil
}

// readWindow is how many bytes of a blob one read takes.
const readWindow = 4 << 20

// window reads n bytes at off of the blob props describes, and checks
// that it is still that blob and still that long.
func (h *Handler) window(x *exchange, props blob.Properties, off, n int64) ([]byte, error) {
	now, data, err := h.cfg.Blobs.Read(x.r.Context(), x.account.Key(), x.container, x.blob, off, n)
	if err != nil {
		return nil, err
	}
	if now.Size < props.Size || !now.Created.Equal(props.Created) || int64(len(data)) != n {
		return nil, errBadState // a blob never shrinks; a recreated one is another blob
	}
	return data, nil
}

// preconditions evaluates If-Match and If-None-Match against the blob's
// ETag (RFC 9110 §13.1.1–2; "*" matches any existing blob). azblob's
// retry reader resumes an interrupted download with If-Match.
func preconditions(r *http.Request, p blob.Properties) error {
	etag := p.ETag()
	if v := r.Header.Get("If-Match"); v != "" && !etagIn(v, etag) {
		return errCondition
	}
	if v := r.Header.Get("If-None-Match"); v != "" && etagIn(v, etag) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return errNotModified
		}
		return errCondition
	}
	return nil
}

func etagIn(list, etag string) bool {
	for v := range strings.SplitSeq(list, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == etag {
			return true
		}
	}
	return false
}
