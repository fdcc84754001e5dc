package blobapi

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/blob"
)

// XML shapes of List Containers and List Blobs (flat), as the Blob
// service sends them and azblob's generated models read them
// (ListContainersSegmentResponse, ListBlobsFlatSegmentResponse). Empty
// Prefix, Marker and MaxResults elements are omitted when the request had
// none; NextMarker is always present, empty on the last page, which is how
// clients know to stop.

type containerList struct {
	XMLName         xml.Name        `xml:"EnumerationResults"`
	ServiceEndpoint string          `xml:"ServiceEndpoint,attr"`
	Prefix          string          `xml:"Prefix,omitempty"`
	Marker          string          `xml:"Marker,omitempty"`
	MaxResults      int             `xml:"MaxResults,omitempty"`
	Containers      []containerItem `xml:"Containers>Container"`
	NextMarker      string          `xml:"NextMarker"`
}

type containerItem struct {
	Name       string              `xml:"Name"`
	Properties containerProperties `xml:"Properties"`
}

type containerProperties struct {
	LastModified          string `xml:"Last-Modified"`
	ETag                  string `xml:"Etag"`
	LeaseStatus           string `xml:"LeaseStatus"`
	LeaseState            string `xml:"LeaseState"`
	HasImmutabilityPolicy bool   `xml:"HasImmutabilityPolicy"`
	HasLegalHold          bool   `xml:"HasLegalHold"`
}

type blobList struct {
	XMLName         xml.Name   `xml:"EnumerationResults"`
	ServiceEndpoint string     `xml:"ServiceEndpoint,attr"`
	ContainerName   string     `xml:"ContainerName,attr"`
	Prefix          string     `xml:"Prefix,omitempty"`
	Marker          string     `xml:"Marker,omitempty"`
	MaxResults      int        `xml:"MaxResults,omitempty"`
	Blobs           []blobItem `xml:"Blobs>Blob"`
	NextMarker      string     `xml:"NextMarker"`
}

type blobItem struct {
	Name       string         `xml:"Name"`
	Properties blobProperties `xml:"Properties"`
}

type blobProperties struct {
	CreationTime    string `xml:"Creation-Time"`
	LastModified    string `xml:"Last-Modified"`
	ETag            string `xml:"Etag"`
	ContentLength   int64  `xml:"Content-Length"`
	ContentType     string `xml:"Content-Type"`
	BlobType        string `xml:"BlobType"`
	LeaseStatus     string `xml:"LeaseStatus"`
	LeaseState      string `xml:"LeaseState"`
	ServerEncrypted bool   `xml:"ServerEncrypted"`
}

// contentType is the type every blob is served with: the exporter writes
// JSON lines, which Azure Monitor's blobs also carry as
// application/octet-stream.
const contentType = "application/octet-stream"

func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// page reads maxresults and marker for a listing of scope.
func page(x *exchange, scope string) (blob.Page, error) {
	q := x.r.URL.Query()
	p := blob.Page{Prefix: q.Get("prefix"), Limit: blob.MaxListResults}
	if q.Get("delimiter") != "" {
		return p, badQuery("delimiter") // hierarchical listing is not served
	}
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > blob.MaxListResults {
			return p, badQuery("maxresults")
		}
		p.Limit = n
	}
	last, err := DecodeMarker(scope, q.Get("marker"))
	if err != nil {
		return p, err
	}
	p.After = last
	return p, nil
}

func (h *Handler) endpoint(x *exchange) string { return "https://" + x.r.Host + "/" }

func (h *Handler) listContainers(x *exchange) error {
	p, err := page(x, "")
	if err != nil {
		return err
	}
	cs, err := h.cfg.Blobs.Containers(x.r.Context(), x.account.Key(), p)
	if err != nil {
		return err
	}
	q := x.r.URL.Query()
	out := containerList{ServiceEndpoint: h.endpoint(x), Prefix: p.Prefix, Marker: q.Get("marker"),
		Containers: []containerItem{}}
	if q.Get("maxresults") != "" {
		out.MaxResults = p.Limit
	}
	for _, c := range cs {
		out.Containers = append(out.Containers, containerItem{Name: c.Name, Properties: containerProperties{
			LastModified: httpTime(c.Modified), ETag: c.ETag(), LeaseStatus: "unlocked", LeaseState: "available"}})
	}
	if len(cs) == p.Limit {
		out.NextMarker = EncodeMarker("", cs[len(cs)-1].Name)
	}
	return h.writeXML(x, out)
}

func (h *Handler) listBlobs(x *exchange) error {
	p, err := page(x, x.container)
	if err != nil {
		return err
	}
	bs, err := h.cfg.Blobs.Blobs(x.r.Context(), x.account.Key(), x.container, p)
	if err != nil {
		return err
	}
	q := x.r.URL.Query()
	out := blobList{ServiceEndpoint: h.endpoint(x), ContainerName: x.container, Prefix: p.Prefix,
		Marker: q.Get("marker"), Blobs: []blobItem{}}
	if q.Get("maxresults") != "" {
		out.MaxResults = p.Limit
	}
	for _, b := range bs {
		out.Blobs = append(out.Blobs, blobItem{Name: b.Name, Properties: blobProperties{
			CreationTime: httpTime(b.Created), LastModified: httpTime(b.Modified), ETag: b.ETag(),
			ContentLength: b.Size, ContentType: contentType, BlobType: "AppendBlob",
			LeaseStatus: "unlocked", LeaseState: "available", ServerEncrypted: true}})
	}
	if len(bs) == p.Limit {
		out.NextMarker = EncodeMarker(x.container, bs[len(bs)-1].Name)
	}
	return h.writeXML(x, out)
}

// containerProperties answers Get Container Properties from the first
// page of its listing: a container exists while it has blobs.
func (h *Handler) containerProperties(x *exchange) error {
	cs, err := h.cfg.Blobs.Containers(x.r.Context(), x.account.Key(), blob.Page{Prefix: x.container, Limit: 1})
	if err != nil {
		return err
	}
	if len(cs) == 0 || cs[0].Name != x.container {
		return blob.ErrContainerNotFound
	}
	hd := h.headers(x)
	hd.Set("ETag", cs[0].ETag())
	hd.Set("Last-Modified", httpTime(cs[0].Modified))
	hd.Set("x-ms-lease-status", "unlocked")
	hd.Set("x-ms-lease-state", "available")
	hd.Set("x-ms-has-immutability-policy", "false")
	hd.Set("x-ms-has-legal-hold", "false")
	x.w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) writeXML(x *exchange, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	hd := h.headers(x)
	hd.Set("Content-Type", "application/xml")
	hd.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	x.w.WriteHeader(http.StatusOK)
	_, _ = x.w.Write([]byte(xml.Header))
	_, _ = x.w.Write(body)
	return nil
}
