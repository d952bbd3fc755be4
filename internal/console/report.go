package console

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"putokaz/referral"
)

// reportRow is one group of cases: an ISO week (of the day the cases were
// received, in the console's zone), a service and a language, with the
// count per outcome and the times to claim and to close. It holds no code,
// no person and no text.
type reportRow struct {
	Week, Service, Lang                 string
	Total                               int
	Waiting, Claimed, Closed, Withdrawn int
	ClaimMedian, ClaimP90               time.Duration
	CloseMedian, CloseP90               time.Duration
	HasClaim, HasClose                  bool
	// All: the row of every case together.
	All                    bool
	claimTimes, closeTimes []time.Duration
}

// report groups cases; the last row is every case together (All).
func (c *Console) report(cases []*referral.Case) []reportRow {
	type key struct{ week, service, lang string }
	groups := map[key]*reportRow{}
	all := &reportRow{All: true}
	for _, k := range cases {
		week := ""
		if !k.Created.IsZero() {
			y, w := k.Created.In(c.o.Zone).ISOWeek()
			week = fmt.Sprintf("%04d-W%02d", y, w)
		}
		gk := key{week, k.Service, k.Lang}
		g := groups[gk]
		if g == nil {
			g = &reportRow{Week: week, Service: k.Service, Lang: k.Lang}
			groups[gk] = g
		}
		for _, r := range []*reportRow{g, all} {
			r.Total++
			switch k.Status {
			case referral.StatusReceived:
				r.Waiting++
			case referral.StatusClaimed:
				r.Claimed++
			case referral.StatusClosed:
				r.Closed++
			case referral.StatusWithdrawn:
				r.Withdrawn++
			}
			if !k.ClaimedAt.IsZero() && !k.Created.IsZero() {
				r.claimTimes = append(r.claimTimes, k.ClaimedAt.Sub(k.Created))
			}
			if k.Status == referral.StatusClosed && !k.ClosedAt.IsZero() && !k.Created.IsZero() {
				r.closeTimes = append(r.closeTimes, k.ClosedAt.Sub(k.Created))
			}
		}
	}
	out := make([]reportRow, 0, len(groups)+1)
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b reportRow) int {
		if a.Week != b.Week {
			return -cmpStr(a.Week, b.Week) // newest week first
		}
		if a.Service != b.Service {
			return cmpStr(a.Service, b.Service)
		}
		return cmpStr(a.Lang, b.Lang)
	})
	if all.Total > 0 {
		out = append(out, *all)
	}
	for i := range out {
		r := &out[i]
		r.ClaimMedian, r.ClaimP90, r.HasClaim = percentiles(r.claimTimes)
		r.CloseMedian, r.CloseP90, r.HasClose = percentiles(r.closeTimes)
	}
	return out
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// percentiles returns the median and the 90th percentile by the nearest-rank
// method (the smallest value with at least p of the values at or below it).
func percentiles(d []time.Duration) (median, p90 time.Duration, ok bool) {
	if len(d) == 0 {
		return 0, 0, false
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(i, 0)]
	}
	return rank(0.5), rank(0.9), true
}

// minutes writes a duration in whole minutes (rounded), "" if none.
func minutes(d time.Duration, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatInt(int64(d.Round(time.Minute)/time.Minute), 10)
}

// reportView is a report row as shown.
type reportView struct {
	Week, Service, Lang                          string
	Total, Waiting, Claimed, Closed, Withdrawn   int
	ClaimMedian, ClaimP90, CloseMedian, CloseP90 string
	All                                          bool
}

func (c *Console) serveReport(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	cases, err := c.mine(r, s)
	if err != nil {
		c.fail(w, "list cases", err)
		return
	}
	c.audit(r.Context(), AuditEntry{Who: s.User, What: auditReport})
	var rows []reportView
	for _, x := range c.report(cases) {
		v := reportView{Week: x.Week, Service: c.serviceLabel(x.Service), Lang: c.langLabel(x.Lang), Total: x.Total,
			Waiting: x.Waiting, Claimed: x.Claimed, Closed: x.Closed, Withdrawn: x.Withdrawn}
		if x.HasClaim {
			v.ClaimMedian, v.ClaimP90 = c.span(x.ClaimMedian), c.span(x.ClaimP90)
		}
		if x.HasClose {
			v.CloseMedian, v.CloseP90 = c.span(x.CloseMedian), c.span(x.CloseP90)
		}
		if x.All {
			v.All, v.Service, v.Lang = true, c.t["report.all"], ""
		}
		rows = append(rows, v)
	}
	c.render(w, http.StatusOK, "report", c.page(r, s, map[string]any{"Rows": rows}))
}

// csvHeader names the CSV's columns (stable, English: it is read by tools).
var csvHeader = []string{"week", "service", "language", "cases", "waiting", "claimed", "closed", "withdrawn",
	"claim_median_min", "claim_p90_min", "close_median_min", "close_p90_min"}

func (c *Console) serveReportCSV(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	cases, err := c.mine(r, s)
	if err != nil {
		c.fail(w, "list cases", err)
		return
	}
	c.audit(r.Context(), AuditEntry{Who: s.User, What: auditExport})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="putokaz-report.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, x := range c.report(cases) {
		week, service := x.Week, x.Service
		if x.All {
			week, service = "all", "all"
		}
		_ = cw.Write([]string{week, service, x.Lang, strconv.Itoa(x.Total), strconv.Itoa(x.Waiting),
			strconv.Itoa(x.Claimed), strconv.Itoa(x.Closed), strconv.Itoa(x.Withdrawn),
			minutes(x.ClaimMedian, x.HasClaim), minutes(x.ClaimP90, x.HasClaim),
			minutes(x.CloseMedian, x.HasClose), minutes(x.CloseP90, x.HasClose)})
	}
	cw.Flush()
}
