package portal

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/edgevault/edgevault/internal/arm"
)

// Charts of the insights page, drawn on the server as inline SVG: no
// script, no request elsewhere. The code here computes geometry only; the
// template (insights.html) writes the SVG, so every text in it is escaped
// by html/template. Colours come from classes (c0 ... c6, in audit.css)
// and SVG presentation attributes, never a style attribute, which the
// portal's CSP forbids.

// lineChart is a multi-line chart over time.
type lineChart struct {
	ID, Title, Desc          string
	Width, Height            int
	Left, Right, Top, Bottom float64 // the plot area
	XTicks, YTicks           []tick
	Series                   []series
}

// tick is an axis mark at Pos (x for the x axis, y for the y axis).
type tick struct {
	Pos   float64
	Label string
}

// series is one line: its points ("x,y x,y ...") and its records.
type series struct {
	Name, Class, Points string
	Total               int64
}

// barChart is a horizontal bar chart, one labelled bar per row.
type barChart struct {
	ID, Title, Desc string
	Width, Height   int
	LabelWidth      float64
	Bars            []bar
}

// bar is one row of a barChart.
type bar struct {
	Label, Value, Class string
	Y, W, TextX, TextY  float64
}

// maxSeries is how many operations get a line of their own; the rest
// share one.
const maxSeries = 6

// timelineChart draws records per interval, one line per operation.
func timelineChart(in arm.AuditInsights) lineChart {
	c := lineChart{ID: "chart-timeline", Title: "Operations over time", Width: 720, Height: 260,
		Left: 56, Right: 708, Top: 12, Bottom: 224}
	since, err1 := time.Parse(time.RFC3339, in.Since)
	until, err2 := time.Parse(time.RFC3339, in.Until)
	step := time.Minute
	if in.Interval == "PT1H" {
		step = time.Hour
	}
	if err1 != nil || err2 != nil || !since.Before(until) {
		return c
	}
	// The API's intervals start on whole minutes or hours (UTC).
	since = since.Truncate(step)
	n := max(int((until.Sub(since)+step-1)/step), 1)
	names, counts, totals := timelineSeries(in.Timeline, since, step, n)
	var peak int64
	for _, cs := range counts {
		peak = max(peak, slices.Max(cs))
	}
	top := niceCeil(peak)
	x := func(i int) float64 { return c.Left + (c.Right-c.Left)*float64(i)/float64(max(n-1, 1)) }
	y := func(v int64) float64 { return c.Bottom - (c.Bottom-c.Top)*float64(v)/float64(top) }
	for i, name := range names {
		s := series{Name: name, Class: "c" + strconv.Itoa(i), Total: totals[i]}
		var pts []byte
		for j, v := range counts[i] {
			pts = fmt.Appendf(pts, "%.1f,%.1f ", x(j), y(v))
		}
		s.Points = string(pts)
		c.Series = append(c.Series, s)
	}
	for _, v := range []int64{0, top / 2, top} {
		if v == top/2 && top < 2 {
			continue
		}
		c.YTicks = append(c.YTicks, tick{y(v), strconv.FormatInt(v, 10)})
	}
	layout := "15:04"
	if until.Sub(since) > 48*time.Hour {
		layout = "Jan 2"
	}
	every := max(n/6, 1)
	for i := 0; i < n; i += every {
		c.XTicks = append(c.XTicks, tick{x(i), since.Add(time.Duration(i) * step).UTC().Format(layout)})
	}
	c.Desc = fmt.Sprintf("Records per %s by operation, from %s to %s UTC; the totals are in the table below.",
		map[time.Duration]string{time.Minute: "minute", time.Hour: "hour"}[step],
		since.UTC().Format("2006-01-02 15:04"), until.UTC().Format("2006-01-02 15:04"))
	return c
}

// timelineSeries spreads the timeline over n intervals from since: the
// busiest operations by name, the others summed as "Other operations";
// totals are each line's records.
func timelineSeries(points []arm.AuditTimelinePoint, since time.Time, step time.Duration, n int) ([]string, [][]int64, []int64) {
	totals := map[string]int64{}
	for _, p := range points {
		totals[p.Operation] += p.Count
	}
	names := make([]string, 0, len(totals))
	for name := range totals {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b)) })
	index := map[string]int{}
	for i, name := range names {
		index[name] = min(i, maxSeries)
	}
	if len(names) > maxSeries+1 {
		names = append(names[:maxSeries], "Other operations")
	}
	counts := make([][]int64, len(names))
	for i := range counts {
		counts[i] = make([]int64, n)
	}
	lineTotals := make([]int64, len(names))
	for _, p := range points {
		lineTotals[index[p.Operation]] += p.Count
		t, err := time.Parse(time.RFC3339, p.Time)
		if err != nil {
			continue
		}
		if j := int(t.Sub(since) / step); j >= 0 && j < n {
			counts[index[p.Operation]][j] += p.Count
		}
	}
	return names, counts, lineTotals
}

// niceCeil is the least of 1, 2, 5, 10, 20, 50, ... not below v.
func niceCeil(v int64) int64 {
	for m := int64(1); ; m *= 10 {
		for _, k := range []int64{1, 2, 5} {
			if k*m >= v {
				return k * m
			}
		}
	}
}

// barRows draws labelled values as horizontal bars, the longest bar for
// the largest value.
func barRows(id, title, desc string, labelWidth float64, labels []string, values []int64, unit string) barChart {
	const rowHeight, barHeight, width = 26, 18, 640
	c := barChart{ID: id, Title: title, Desc: desc, Width: width, Height: max(len(labels), 1)*rowHeight + 8, LabelWidth: labelWidth}
	var peak int64 = 1
	for _, v := range values {
		peak = max(peak, v)
	}
	span := float64(width) - labelWidth - 90 // room for the value
	for i, label := range labels {
		y := float64(4 + i*rowHeight)
		w := max(span*float64(values[i])/float64(peak), 1)
		c.Bars = append(c.Bars, bar{Label: label, Value: strconv.FormatInt(values[i], 10) + unit, Class: "c" + strconv.Itoa(i%7),
			Y: y, W: w, TextX: labelWidth + w + 6, TextY: y + barHeight - 4})
	}
	return c
}
