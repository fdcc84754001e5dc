package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Polling intervals for long-running operations. ARM servers ask for 10 s
// to 10 min in Retry-After (reference/edge-arm.md §3.5), which suits SDKs
// that run unattended; a person at a terminal is better served by a short
// cap, so the CLI waits what the server asks but never more than pollMax,
// and never less than pollMin so that "Retry-After: 0" cannot make it spin.
const (
	pollDefault  = 2 * time.Second // no or unreadable Retry-After
	pollMin      = 1 * time.Second
	pollMax      = 5 * time.Second
	spinnerFrame = 100 * time.Millisecond
)

// sleep waits for d or until ctx is done. Tests replace it so that no test
// sleeps for real.
var sleep = func(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isTerminal reports whether v (a command's stdin or stderr) is a
// terminal. Tests replace it.
var isTerminal = func(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// operationStatus is the Azure-AsyncOperation status resource
// (reference/edge-arm.md §3.5). Status is compared case-insensitively;
// anything but the terminal values means the operation is still running.
type operationStatus struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	StartTime       string     `json:"startTime"`
	EndTime         string     `json:"endTime"`
	PercentComplete *float64   `json:"percentComplete"`
	Error           *errorBody `json:"error"`
}

// errorBody is an ARM error's code and message.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// operationError is a long-running operation that ended Failed or
// Canceled; it prints like client.APIError: "(Code) message".
type operationError struct {
	Code, Message string
}

func (e *operationError) Error() string { return "(" + e.Code + ") " + e.Message }

// accepted is what --no-wait prints for an operation the server accepted.
type accepted struct {
	Status    string `json:"status"`
	StatusURL string `json:"statusUrl"`
}

// operation is a long-running operation being polled.
type operation struct {
	url   string // the URL polled
	async bool   // url is an Azure-AsyncOperation status resource, else a Location URL
	delay time.Duration
}

// newOperation reads the 202 answer to reqURL: the Azure-AsyncOperation
// URL if any, else the Location URL, and Retry-After. When check is set,
// the URL must be on the management endpoint.
func (c *armClient) newOperation(reqURL string, r reply, check bool) (*operation, error) {
	op := &operation{delay: retryAfter(r.header)}
	raw := r.header.Get("Azure-AsyncOperation")
	op.async = raw != ""
	if raw == "" {
		raw = r.header.Get("Location")
	}
	if raw == "" {
		return nil, errors.New("the server accepted the operation (202) but sent no Azure-AsyncOperation or Location header to follow it")
	}
	op.url = raw
	if check {
		u, err := c.follow(reqURL, raw, "operation status URL")
		if err != nil {
			return nil, err
		}
		op.url = u
	}
	return op, nil
}

// retryAfter is the Retry-After header (integer seconds, §3.5) held
// within [pollMin, pollMax]; pollDefault when absent or not an integer.
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || n < 0 {
		return pollDefault
	}
	return min(max(time.Duration(n)*time.Second, pollMin), pollMax)
}

// finish completes a call that may have started a long-running operation:
// a synchronous answer (anything but 202) is already done; with noWait it
// prints where to follow the operation; otherwise it waits for the end,
// drawing progress labelled label on stderr.
func (a *app) finish(cmd *cobra.Command, c *armClient, reqURL string, r reply, noWait bool, label string) error {
	if r.status != http.StatusAccepted {
		return nil
	}
	op, err := c.newOperation(reqURL, r, !noWait)
	if err != nil {
		return err
	}
	if noWait {
		v := accepted{Status: "Accepted", StatusURL: op.url}
		return a.print(cmd.OutOrStdout(), v, record{{"status", v.Status}, {"status url", v.StatusURL}})
	}
	return c.wait(cmd.Context(), op, newProgress(cmd.ErrOrStderr(), label))
}

// wait polls op until it ends. Failed or Canceled is an *operationError;
// a failure to read the status is returned as is: the operation itself
// may still be running.
func (c *armClient) wait(ctx context.Context, op *operation, p *progress) error {
	defer p.done()
	p.update("Accepted", nil)
	for {
		if err := p.wait(ctx, op.delay); err != nil {
			return fmt.Errorf("stopped waiting (%w); the operation goes on at the server: %s", err, op.url)
		}
		done, err := c.poll(ctx, op, p)
		if done || err != nil {
			return err
		}
	}
}

// poll reads op's status once and reports whether it has ended.
func (c *armClient) poll(ctx context.Context, op *operation, p *progress) (bool, error) {
	if op.async {
		var st operationStatus
		r, err := c.do(ctx, http.MethodGet, op.url, nil, &st)
		if err != nil {
			return false, fmt.Errorf("read operation status: %w", err)
		}
		op.delay = retryAfter(r.header)
		p.update(st.Status, st.PercentComplete)
		return st.ended()
	}
	// A Location URL answers 202 while the operation runs, then what the
	// synchronous call would have: 200 or 204, or a body whose
	// provisioningState says it failed (azcore's loc poller).
	var body struct {
		Properties struct {
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	r, err := c.do(ctx, http.MethodGet, op.url, nil, &body)
	if err != nil {
		return false, fmt.Errorf("read operation status: %w", err)
	}
	op.delay = retryAfter(r.header)
	if r.status == http.StatusAccepted {
		if loc := r.header.Get("Location"); loc != "" {
			next, err := c.follow(op.url, loc, "operation status URL")
			if err != nil {
				return false, err
			}
			op.url = next
		}
		p.update("InProgress", nil)
		return false, nil
	}
	st := operationStatus{Status: body.Properties.ProvisioningState}
	if st.Status == "" {
		st.Status = "Succeeded" // a missing provisioningState means Succeeded (§3.6)
	}
	p.update(st.Status, nil)
	// A final 2xx ends the polling whatever the state says; only a failed
	// or canceled one is an error.
	_, err = st.ended()
	return true, err
}

// ended reports whether the status is terminal, and the failure if it
// ended Failed or Canceled. An empty status is a malformed answer.
func (st *operationStatus) ended() (bool, error) {
	switch strings.ToLower(st.Status) {
	case "succeeded", "completed":
		return true, nil
	case "failed", "canceled", "cancelled":
		e := &operationError{Code: st.Status, Message: "The operation ended with status " + st.Status + "."}
		if st.Error != nil && st.Error.Code != "" {
			e.Code = st.Error.Code
		}
		if st.Error != nil && st.Error.Message != "" {
			e.Message = st.Error.Message
		}
		return true, e
	case "":
		return true, errors.New("the operation status has no status field")
	}
	return false, nil
}

// progress shows a waiting operation on stderr. On a terminal it redraws
// one line: a spinner, the label, the status, percent complete and the
// time waited. Elsewhere (logs, CI) it prints a plain line whenever the
// status or percentage changes, and nothing else.
type progress struct {
	w       io.Writer
	tty     bool
	label   string
	status  string
	percent *float64
	last    string // the last plain line printed
	frame   int
	waited  time.Duration
	drawn   bool
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newProgress(w io.Writer, label string) *progress {
	return &progress{w: w, tty: isTerminal(w), label: label}
}

// update records a new status and shows it.
func (p *progress) update(status string, percent *float64) {
	p.status, p.percent = status, percent
	if p.tty {
		p.draw()
		return
	}
	line := p.text()
	if line != p.last {
		fmt.Fprintln(p.w, line)
		p.last = line
	}
}

// wait sleeps for d; on a terminal it animates the spinner meanwhile.
func (p *progress) wait(ctx context.Context, d time.Duration) error {
	if !p.tty {
		return sleep(ctx, d)
	}
	for d > 0 {
		step := min(d, spinnerFrame)
		if err := sleep(ctx, step); err != nil {
			return err
		}
		d -= step
		p.waited += step
		p.frame++
		p.draw()
	}
	return nil
}

// done clears the terminal line, so that what follows starts clean.
func (p *progress) done() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[2K")
	}
}

// text is the status line without the spinner.
func (p *progress) text() string {
	s := p.label + ": " + p.status
	if p.percent != nil {
		s += fmt.Sprintf(" (%.0f%%)", *p.percent)
	}
	return s
}

func (p *progress) draw() {
	fmt.Fprintf(p.w, "\r\x1b[2K%s %s [%s]", spinner[p.frame%len(spinner)], p.text(), p.waited.Truncate(time.Second))
	p.drawn = true
}
