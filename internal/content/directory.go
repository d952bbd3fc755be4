package content

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DirectoryFile is the service directory's file name inside flows/.
const DirectoryFile = "directory.yaml"

// Service is something a person can be referred or handed over to.
type Service struct {
	ID string
	// Name, Consent and Declined are message IDs: the service's name, the
	// consent text (what is shared, with whom, why, for how long, and that
	// Telegram sees the chat) and the public contacts shown on "no".
	Name     string
	Consent  string
	Declined string
	// Questions are asked after consent, only what the referral needs.
	Questions []Question
	Hours     Hours
	// NotifyClosed: the person is told (TextCaseClosed) when staff close
	// a referral to this service.
	NotifyClosed bool
	// ClaimWithin is how long a case (referral or live chat) to this
	// service may wait unclaimed, counted in its working hours, before
	// staff are reminded (directory claim_within; DefaultClaimWithin when
	// absent; 0 with "off": no reminders).
	ClaimWithin time.Duration
	Pos         Pos
}

// DefaultClaimWithin is a service's claim_within when the directory does
// not set one: nothing waits unseen unless the service says so.
const DefaultClaimWithin = 4 * time.Hour

// Bounds of claim_within: shorter would remind staff of a case they are
// reading; longer than a week is no reminder.
const (
	minClaimWithin = 5 * time.Minute
	maxClaimWithin = 7 * 24 * time.Hour
)

// Question is one question of a referral.
type Question struct {
	Ask      string
	Save     string
	Expect   Expect
	Choices  []Choice
	Optional bool
	Pos      Pos
}

// Hours are a service's working hours in its time zone.
type Hours struct {
	Days     [7]bool // indexed by time.Weekday
	From, To int     // minutes after midnight
	Location *time.Location
	Text     string
}

// Open reports whether staff are at work at t.
func (h Hours) Open(t time.Time) bool {
	if h.Location == nil {
		return true
	}
	t = t.In(h.Location)
	m := t.Hour()*60 + t.Minute()
	return h.Days[t.Weekday()] && m >= h.From && m < h.To
}

// NextOpen is when staff are next at work after t (t itself if open now).
func (h Hours) NextOpen(t time.Time) time.Time {
	if h.Location == nil || h.Open(t) {
		return t
	}
	t = t.In(h.Location)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, h.Location)
	for i := 0; i < 8; i++ {
		d := day.AddDate(0, 0, i)
		start := d.Add(time.Duration(h.From) * time.Minute)
		if h.Days[d.Weekday()] && start.After(t) {
			return start
		}
	}
	return t
}

// Place is a centre or office shown to people near it.
type Place struct {
	ID      string
	Name    string // proper name, as on signs (not translated)
	Kinds   []string
	Address string
	Lat     float64
	Lon     float64
	Active  bool
	Pos     Pos
}

// Directory is the service directory.
type Directory struct {
	Services map[string]*Service
	Places   []Place
}

var (
	directoryFields = []string{"services", "places"}
	serviceFields   = []string{"name", "consent", "declined", "questions", "hours", "timezone", "notify_closed",
		"claim_within"}
	questionFields = []string{"ask", "save", "expect", "choices", "optional"}
	placeFields    = []string{"id", "name", "kinds", "address", "lat", "lon", "status"}
	hoursRe        = regexp.MustCompile(`^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))? ([0-2]\d):([0-5]\d)-([0-2]\d):([0-5]\d)$`)
	weekdays       = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

// loadDirectory reads flows/directory.yaml; it is optional.
func (fl *flowLoader) loadDirectory(fsys fs.FS, dir string, diags *Diags) *Directory {
	d := &Directory{Services: map[string]*Service{}}
	if _, err := fs.Stat(fsys, DirectoryFile); err != nil {
		return d
	}
	r := &fileReader{name: path.Join(dir, DirectoryFile), diags: diags}
	_, root := r.readYAML(fsys, DirectoryFile)
	if root == nil {
		return d
	}
	f, _ := r.fields(root, "the service directory", directoryFields...)
	if f == nil {
		return d
	}
	if sn := f["services"]; sn != nil {
		if sn.Kind != yaml.MappingNode {
			r.errorf(sn, "services should be a group of named services")
		} else {
			for i := 0; i+1 < len(sn.Content); i += 2 {
				k, v := sn.Content[i], sn.Content[i+1]
				if !nameRe.MatchString(k.Value) {
					r.errorf(k, "service name %q should use only small letters a–z, digits and _", k.Value)
					continue
				}
				if s := fl.loadService(r, k, v); s != nil {
					d.Services[s.ID] = s
				}
			}
		}
	}
	if pn := f["places"]; pn != nil {
		if pn.Kind != yaml.SequenceNode {
			r.errorf(pn, "places should be a list (lines starting with \"- \")")
		} else {
			seen := map[string]bool{}
			for _, n := range pn.Content {
				if p, ok := loadPlace(r, n); ok {
					if seen[p.ID] {
						r.errorf(n, "place %q is listed twice", p.ID)
						continue
					}
					seen[p.ID] = true
					d.Places = append(d.Places, p)
				}
			}
		}
	}
	return d
}

func (fl *flowLoader) loadService(r *fileReader, k, n *yaml.Node) *Service {
	f, _ := r.fields(n, fmt.Sprintf("service %q", k.Value), serviceFields...)
	if f == nil {
		return nil
	}
	s := &Service{ID: k.Value, Pos: r.pos(k)}
	for _, x := range []struct {
		field string
		dst   *string
	}{{"name", &s.Name}, {"consent", &s.Consent}, {"declined", &s.Declined}} {
		v, _ := r.str(f[x.field], x.field)
		if v == "" {
			r.errorf(k, "service %q needs %q (a text name)", s.ID, x.field)
			continue
		}
		*x.dst = v
		fl.useID(v, r.pos(f[x.field]), false)
	}
	if hn := f["hours"]; hn != nil {
		text, _ := r.str(hn, "hours")
		tz, _ := r.str(f["timezone"], "timezone")
		h, err := parseHours(text, tz)
		if err != nil {
			r.errorf(hn, "%v", err)
		}
		s.Hours = h
	} else if f["timezone"] != nil {
		r.errorf(f["timezone"], "a timezone without hours means nothing; add hours like \"mon-fri 09:00-17:00\"")
	}
	if f["notify_closed"] != nil {
		s.NotifyClosed = r.boolean(f["notify_closed"], "notify_closed")
	}
	s.ClaimWithin = DefaultClaimWithin
	if cn := f["claim_within"]; cn != nil {
		s.ClaimWithin = parseClaimWithin(r, cn)
	}
	if qn := f["questions"]; qn != nil {
		if qn.Kind != yaml.SequenceNode {
			r.errorf(qn, "questions should be a list")
		} else {
			for _, q := range qn.Content {
				if x, ok := fl.loadQuestion(r, q); ok {
					s.Questions = append(s.Questions, x)
				}
			}
		}
	}
	return s
}

func (fl *flowLoader) loadQuestion(r *fileReader, n *yaml.Node) (Question, bool) {
	f, _ := r.fields(n, "a question", questionFields...)
	if f == nil {
		return Question{}, false
	}
	q := Question{Pos: r.pos(n), Expect: ExpectText}
	q.Ask, _ = r.str(f["ask"], "ask")
	q.Save, _ = r.str(f["save"], "save")
	if q.Ask == "" || q.Save == "" {
		r.errorf(n, "a question needs \"ask\" (a text name) and \"save\" (where the answer goes)")
		return q, false
	}
	if !nameRe.MatchString(q.Save) {
		r.errorf(f["save"], "answer name %q should use only small letters a–z, digits and _", q.Save)
	}
	fl.useID(q.Ask, r.pos(f["ask"]), false)
	if e, _ := r.str(f["expect"], "expect"); e != "" {
		q.Expect = Expect(e)
		if !slices.Contains([]Expect{ExpectText, ExpectNumber, ExpectPhone, ExpectChoice}, q.Expect) {
			r.errorf(f["expect"], "expect should be text, number, phone or choice, not %q", e)
		}
	}
	if f["optional"] != nil {
		q.Optional = r.boolean(f["optional"], "optional")
	}
	st := &Step{Name: q.Save, Expect: q.Expect}
	fl.loadChoices(r, st, f["choices"])
	q.Choices = st.Choices
	return q, true
}

func loadPlace(r *fileReader, n *yaml.Node) (Place, bool) {
	f, _ := r.fields(n, "a place", placeFields...)
	if f == nil {
		return Place{}, false
	}
	p := Place{Pos: r.pos(n), Active: true}
	p.ID, _ = r.str(f["id"], "id")
	p.Name, _ = r.str(f["name"], "name")
	p.Address, _ = r.str(f["address"], "address")
	if p.ID == "" || p.Name == "" {
		r.errorf(n, "a place needs an id and a name")
		return p, false
	}
	if kn := f["kinds"]; kn != nil && kn.Kind == yaml.SequenceNode {
		for _, x := range kn.Content {
			if s, ok := r.str(x, "a kind"); ok {
				p.Kinds = append(p.Kinds, s)
			}
		}
	}
	if len(p.Kinds) == 0 {
		r.errorf(n, "place %q needs kinds, like [asylum_centre]", p.ID)
	}
	coord := func(field string, lo, hi float64) float64 {
		s, _ := r.str(f[field], field)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < lo || v > hi {
			r.errorf(firstNonNil(f[field], n), "place %q needs %s as a number between %g and %g", p.ID, field, lo, hi)
		}
		return v
	}
	p.Lat = coord("lat", -90, 90)
	p.Lon = coord("lon", -180, 180)
	if s, _ := r.str(f["status"], "status"); s != "" {
		switch s {
		case "active":
		case "closed", "suspended":
			p.Active = false
		default:
			r.errorf(f["status"], "status should be active, suspended or closed, not %q", s)
		}
	}
	return p, true
}

// parseHours reads "mon-fri 09:00-17:00" in a time zone.
func parseHours(text, tz string) (Hours, error) {
	h := Hours{Text: text}
	m := hoursRe.FindStringSubmatch(strings.ToLower(strings.TrimSpace(text)))
	if m == nil {
		return h, fmt.Errorf("hours %q should look like \"mon-fri 09:00-17:00\"", text)
	}
	if tz == "" {
		return h, fmt.Errorf("hours need a timezone, like Europe/Belgrade")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return h, fmt.Errorf("unknown timezone %q (example: Europe/Belgrade)", tz)
	}
	h.Location = loc
	from, to := slices.Index(weekdays, m[1]), slices.Index(weekdays, m[1])
	if m[2] != "" {
		to = slices.Index(weekdays, m[2])
	}
	for d := from; ; d = (d + 1) % 7 {
		h.Days[d] = true
		if d == to {
			break
		}
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	h.From = atoi(m[3])*60 + atoi(m[4])
	h.To = atoi(m[5])*60 + atoi(m[6])
	if h.From >= h.To || h.To > 24*60 {
		return h, fmt.Errorf("hours %q: the day must end after it starts", text)
	}
	return h, nil
}

// parseClaimWithin reads claim_within: a duration like 4h, 90m or 1h30m
// (working time), or off.
func parseClaimWithin(r *fileReader, n *yaml.Node) time.Duration {
	v, ok := r.str(n, "claim_within")
	if !ok {
		return DefaultClaimWithin
	}
	if v == "off" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || strings.ContainsAny(v, "-") {
		r.errorf(n, "claim_within should be a time like 4h, 90m or 1h30m (or off for no reminders), not %q", v)
		return DefaultClaimWithin
	}
	if d < minClaimWithin || d > maxClaimWithin {
		r.errorf(n, "claim_within %s is out of range: between %v and %v (or off)", v, minClaimWithin, maxClaimWithin)
		return DefaultClaimWithin
	}
	return d
}
