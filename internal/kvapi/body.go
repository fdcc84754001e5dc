package kvapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/edgevault/edgevault/internal/httpx"
)

// decode reads a JSON request body of at most limit bytes into v. A body
// whose Content-Length announces more is refused before a byte is read,
// and one that grows past the limit is cut off there, so a huge body is
// never buffered (413). Unknown fields are ignored, as Key Vault does;
// wrong types, bad JSON and trailing data are 400 BadParameter. The
// messages never echo body content: it may be a secret.
func (x *exchange) decode(limit int64, v any) error {
	if x.r.ContentLength > limit {
		return errTooLarge
	}
	if x.r.Body == nil || x.r.Body == http.NoBody {
		return badRequest("The request body is missing.")
	}
	dec := json.NewDecoder(http.MaxBytesReader(x.w, x.r.Body, limit))
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data")
			if httpx.IsTooLarge(extra) {
				err = extra
			}
		}
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case httpx.IsTooLarge(err):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return badRequest("The request body is missing.")
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return badRequest("The property '%s' of the request body has the wrong type.", clip(typeErr.Field, 64))
	}
	return badRequest("The request body is not valid JSON.")
}
