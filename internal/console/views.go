package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"putokaz/referral"
)

// pages are the templates under templates/, each rendered inside layout.html.
var pages = []string{"login", "signedin", "message", "waiting", "cases", "case", "report", "audit"}

func (c *Console) parseTemplates() error {
	funcs := template.FuncMap{
		"t":    func(k string) string { return c.t[k] },
		"when": func(t time.Time) string { return c.when(t) },
	}
	c.tmpl = map[string]*template.Template{}
	for _, p := range pages {
		t, err := template.New(p).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return fmt.Errorf("console templates: %w", err)
		}
		c.tmpl[p] = t
	}
	return nil
}

// page is what every template gets: texts, the base path, the signed-in
// member (nil on the sign-in pages) and the page's own data.
func (c *Console) page(r *http.Request, s *Session, data map[string]any) map[string]any {
	if data == nil {
		data = map[string]any{}
	}
	data["Base"] = c.base
	data["Lang"] = map[string]string{"sr-Cyrl": "sr-Cyrl", "sr-Latn": "sr-Latn"}[c.o.Lang]
	if data["Lang"] == "" {
		data["Lang"] = "en"
	}
	data["Session"] = s
	data["Path"] = r.URL.Path
	return data
}

func (c *Console) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	var b bytes.Buffer
	if err := c.tmpl[name].ExecuteTemplate(&b, "layout", data); err != nil {
		c.fail(w, "render "+name, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (c *Console) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.o.Zone).Format("2006-01-02 15:04")
}

// row is one case in a list.
type row struct {
	Code, Kind, Service, Lang, Status string
	Received                          string
	Waiting                           string
	Overdue                           bool
	ClaimedBy                         string
	// NotShown: an open case whose card is not (yet) in its staff group
	// (its delivery is pending or failed).
	NotShown bool
}

func (c *Console) serviceLabel(id string) string {
	if n := c.o.Cases.ServiceName(id); n != "" {
		return n
	}
	return id
}

func (c *Console) langLabel(tag string) string {
	if tag == "" {
		return "—"
	}
	if n := c.o.Cases.LanguageName(tag); n != "" {
		return n + " (" + tag + ")"
	}
	return tag
}

func (c *Console) overdue(k *referral.Case, now time.Time) bool {
	if k.Status != referral.StatusReceived {
		return false
	}
	if due := c.o.Cases.Due(k); !due.IsZero() {
		return now.After(due) // the service's own time, as the reminders use
	}
	return now.Sub(k.Created) > c.o.OverdueAfter
}

func (c *Console) row(k *referral.Case, now time.Time) row {
	r := row{Code: k.Code, Kind: c.t["kind."+k.Kind], Service: c.serviceLabel(k.Service), Lang: c.langLabel(k.Lang),
		Status: c.t["status."+k.Status], Received: c.when(k.Created), Overdue: c.overdue(k, now), ClaimedBy: k.ClaimedName,
		NotShown: (k.Status == referral.StatusReceived || k.Status == referral.StatusClaimed) && k.Card == 0}
	if k.Status == referral.StatusReceived && !k.Created.IsZero() {
		r.Waiting = c.span(now.Sub(k.Created))
	}
	if r.ClaimedBy == "" && k.ClaimedBy != "" {
		r.ClaimedBy = c.t["case.someone"]
	}
	return r
}

// span writes a duration as "3 d 4 h", "2 h 5 min" or "12 min" (units in
// the staff language).
func (c *Console) span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	m := int(d.Minutes())
	day, hour, mins := c.t["unit.d"], c.t["unit.h"], c.t["unit.min"]
	switch {
	case m >= 24*60:
		return fmt.Sprintf("%d %s %d %s", m/(24*60), day, m%(24*60)/60, hour)
	case m >= 60:
		return fmt.Sprintf("%d %s %d %s", m/60, hour, m%60, mins)
	}
	return fmt.Sprintf("%d %s", m, mins)
}

// mine returns the cases of the session's staff groups.
func (c *Console) mine(r *http.Request, s *Session) ([]*referral.Case, error) {
	all, err := c.o.Cases.Cases(r.Context())
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(k *referral.Case) bool { return !visible(s, k.Group) }), nil
}

func oldestFirst(a, b *referral.Case) int {
	if d := a.Created.Compare(b.Created); d != 0 {
		return d
	}
	return strings.Compare(a.Code, b.Code)
}

func (c *Console) serveWaiting(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	cases, err := c.mine(r, s)
	if err != nil {
		c.fail(w, "list cases", err)
		return
	}
	now := c.now()
	cases = slices.DeleteFunc(cases, func(k *referral.Case) bool { return k.Status != referral.StatusReceived })
	slices.SortFunc(cases, oldestFirst) // the longest waiting is the most overdue
	rows := make([]row, 0, len(cases))
	for _, k := range cases {
		rows = append(rows, c.row(k, now))
	}
	c.render(w, http.StatusOK, "waiting", c.page(r, s, map[string]any{"Rows": rows}))
}

// option is one choice of a filter.
type option struct {
	Value, Label string
	Selected     bool
}

func (c *Console) serveCases(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	cases, err := c.mine(r, s)
	if err != nil {
		c.fail(w, "list cases", err)
		return
	}
	now := c.now()
	q := r.URL.Query()
	service, status, lang, age := q.Get("service"), q.Get("status"), q.Get("lang"), q.Get("age")
	overdue := q.Get("overdue") == "1"
	if status == "" {
		status = "open"
	}
	minAge, _ := time.ParseDuration(age)
	services, langs := map[string]bool{}, map[string]bool{}
	for _, k := range cases {
		services[k.Service] = true
		if k.Lang != "" {
			langs[k.Lang] = true
		}
	}
	keep := func(k *referral.Case) bool {
		switch {
		case service != "" && k.Service != service,
			lang != "" && k.Lang != lang,
			status == "open" && k.Status != referral.StatusReceived && k.Status != referral.StatusClaimed,
			status != "open" && status != "all" && k.Status != status,
			minAge > 0 && now.Sub(k.Created) < minAge,
			overdue && !c.overdue(k, now):
			return false
		}
		return true
	}
	cases = slices.DeleteFunc(cases, func(k *referral.Case) bool { return !keep(k) })
	slices.SortFunc(cases, oldestFirst)
	rows := make([]row, 0, len(cases))
	for _, k := range cases {
		rows = append(rows, c.row(k, now))
	}
	opts := func(set map[string]bool, sel string, label func(string) string) []option {
		out := []option{{Value: "", Label: c.t["filter.any"], Selected: sel == ""}}
		keys := make([]string, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, option{Value: k, Label: label(k), Selected: k == sel})
		}
		return out
	}
	statuses := []option{{Value: "open", Label: c.t["filter.open"]}, {Value: "all", Label: c.t["filter.all"]}}
	for _, st := range []string{referral.StatusReceived, referral.StatusClaimed, referral.StatusClosed, referral.StatusWithdrawn} {
		statuses = append(statuses, option{Value: st, Label: c.t["status."+st]})
	}
	for i := range statuses {
		statuses[i].Selected = statuses[i].Value == status
	}
	ages := []option{{Value: "", Label: c.t["filter.any"]}, {Value: "1h", Label: c.t["age.1h"]},
		{Value: "24h", Label: c.t["age.24h"]}, {Value: "168h", Label: c.t["age.168h"]}}
	for i := range ages {
		ages[i].Selected = ages[i].Value == age
	}
	c.render(w, http.StatusOK, "cases", c.page(r, s, map[string]any{"Rows": rows,
		"Services": opts(services, service, c.serviceLabel), "Langs": opts(langs, lang, c.langLabel),
		"Statuses": statuses, "Ages": ages, "Overdue": overdue}))
}

// historyLine is one entry of a case's history as shown.
type historyLine struct {
	When, Who, What, Text string
	NoText                bool
}

func (c *Console) serveCase(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	code := r.PathValue("code")
	k, hist, err := c.o.Cases.CaseRecord(r.Context(), code)
	if err != nil {
		c.fail(w, "read case", err)
		return
	}
	if k == nil || !visible(s, k.Group) {
		c.render(w, http.StatusNotFound, "message", c.page(r, s, map[string]any{"Message": c.t["case.gone"]}))
		return
	}
	c.audit(r.Context(), AuditEntry{Who: s.User, What: auditView, Case: k.Code, Group: k.Group})
	lines := make([]historyLine, 0, len(hist))
	media := false
	for _, e := range hist {
		l := historyLine{When: c.when(e.At), What: c.t["what."+e.What], Text: e.Text}
		if l.What == "" {
			l.What = e.What
		}
		switch {
		case e.Who == "person":
			l.Who = c.t["who.person"]
		case e.Who == "bot":
			l.Who = c.t["who.bot"]
		case strings.HasPrefix(e.Who, "staff:"):
			l.Who = c.t["who.staff"] + " " + strings.TrimPrefix(strings.TrimPrefix(e.Who, "staff:"), "tg:")
		default:
			l.Who = e.Who
		}
		if (e.What == "message" || e.What == "reply") && e.Text == "" {
			l.NoText, media = true, true // a photo, voice, location...: only in the topic
		}
		lines = append(lines, l)
	}
	answers := make([]option, 0, len(k.Answers))
	for name, v := range k.Answers {
		answers = append(answers, option{Value: name, Label: v})
	}
	slices.SortFunc(answers, func(a, b option) int { return strings.Compare(a.Value, b.Value) })
	flash, ok := "", false
	if d := r.URL.Query().Get("done"); d != "" {
		flash, ok = c.t["done."+d], true
		if flash == "" {
			flash, ok = c.t["out."+d], false
		}
	}
	c.render(w, http.StatusOK, "case", c.page(r, s, map[string]any{"Case": k, "Row": c.row(k, c.now()),
		"History": lines, "Media": media, "Answers": answers, "Flash": flash, "FlashOK": ok,
		"Open":      k.Status == referral.StatusReceived || k.Status == referral.StatusClaimed,
		"Claimable": k.Status == referral.StatusReceived, "Notable": k.Status != referral.StatusWithdrawn,
		"Withdrawn": k.Status == referral.StatusWithdrawn}))
}

// serveAction claims, notes or closes a case, with the same rules as in
// Telegram: only a member of the case's staff group (asked again now), only
// in the statuses the referral package allows.
func (c *Console) serveAction(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	ctx := r.Context()
	code, action := r.PathValue("code"), r.PathValue("action")
	k, _, err := c.o.Cases.CaseRecord(ctx, code)
	if err != nil {
		c.fail(w, "read case", err)
		return
	}
	if k == nil || !visible(s, k.Group) {
		c.render(w, http.StatusNotFound, "message", c.page(r, s, map[string]any{"Message": c.t["case.gone"]}))
		return
	}
	back := func(result string) {
		http.Redirect(w, r, c.base+"/case/"+k.Code+"?done="+result, http.StatusSeeOther)
	}
	member, err := c.o.Members.IsMember(ctx, k.Group, s.User)
	if err != nil {
		c.render(w, http.StatusServiceUnavailable, "message", c.page(r, s, map[string]any{"Message": c.t["login.e.telegram"]}))
		return
	}
	if !member {
		back("member")
		return
	}
	by := "tg:" + strconv.FormatInt(s.User, 10)
	var out referral.Outcome
	var what string
	switch action {
	case "claim":
		what = auditClaim
		out, err = c.o.Cases.ClaimAs(ctx, k.Code, by, s.Name)
	case "close":
		what = auditClose
		out, err = c.o.Cases.CloseAs(ctx, k.Code, by, s.Name)
	case "note":
		what = auditNote
		text := strings.TrimSpace(r.PostFormValue("text"))
		if text == "" {
			back("empty")
			return
		}
		out, err = c.o.Cases.Note(ctx, k.Code, by, text)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.fail(w, action+" a case", err)
		return
	}
	if out == referral.Done {
		c.audit(ctx, AuditEntry{Who: s.User, What: what, Case: k.Code, Group: k.Group})
		back(map[string]string{"claim": "claimed", "close": "closed", "note": "note"}[action])
		return
	}
	result := "unknown"
	switch out {
	case referral.AlreadyClaimed:
		result = "taken"
	case referral.NotOpen:
		result = "not_open"
	case referral.Withdrawn:
		result = "withdrawn"
	}
	back(result)
}

// auditLine is one audit entry as shown.
type auditLine struct {
	When, What, Case string
	Who              int64
}

func (c *Console) serveAudit(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r).s
	entries, err := c.o.Audit.Recent(r.Context(), 1000)
	if err != nil {
		c.fail(w, "read audit log", err)
		return
	}
	lines := []auditLine{}
	for _, e := range entries {
		// Sign-ins and reports name no group: every member sees them.
		if e.Group != 0 && !visible(s, e.Group) {
			continue
		}
		what := c.t["audit."+e.What]
		if what == "" {
			what = e.What
		}
		lines = append(lines, auditLine{When: c.when(e.At), Who: e.Who, What: what, Case: e.Case})
	}
	c.render(w, http.StatusOK, "audit", c.page(r, s, map[string]any{"Lines": lines}))
}
