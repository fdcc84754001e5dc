package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// outputFormat is the value of the global -o/--output flag; it implements
// pflag.Value so that an unknown format is a flag (usage) error.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputJSON  outputFormat = "json"
)

// String implements pflag.Value.
func (o *outputFormat) String() string { return string(*o) }

// Type implements pflag.Value.
func (o *outputFormat) Type() string { return "format" }

// Set implements pflag.Value.
func (o *outputFormat) Set(s string) error {
	switch f := outputFormat(strings.ToLower(s)); f {
	case outputTable, outputJSON:
		*o = f
		return nil
	}
	return fmt.Errorf("invalid output format %q: want table or json", s)
}

// renderer draws a table.
type renderer interface {
	render(w io.Writer) error
}

// print writes v to w as pretty JSON (two-space indent) or t as a table,
// following -o.
func (a *app) print(w io.Writer, v any, t renderer) error {
	if a.output == outputJSON {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return t.render(w)
}

// table is a list: uppercase headers over one row per item.
type table struct {
	headers []string
	rows    [][]string
}

func (t table) render(w io.Writer) error {
	tw := newTabWriter(w)
	fmt.Fprintln(tw, strings.Join(t.headers, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// record is a single object, drawn as a transposed table: one line per field,
// the uppercase field name, then its value. Fields with an empty value are
// left out.
type record []field

// field is one line of a record.
type field struct{ name, value string }

func (r record) render(w io.Writer) error {
	tw := newTabWriter(w)
	for _, f := range r {
		if f.value != "" {
			fmt.Fprintf(tw, "%s\t%s\n", strings.ToUpper(f.name), f.value)
		}
	}
	return tw.Flush()
}

func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// timeText formats a time for a table: RFC 3339 in UTC, or "" when zero.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
