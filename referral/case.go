package referral

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"putokaz/internal/engine"
)

// Kinds of case.
const (
	// KindReferral: the person consented and answered the service's
	// questions (engine.EffectReferral).
	KindReferral = "referral"
	// KindHandoff: the person asked to talk to staff (engine.EffectHandoff).
	KindHandoff = "handoff"
)

// Statuses of a case. The first three are what /status reports.
const (
	StatusReceived = engine.StatusReceived
	StatusClaimed  = engine.StatusClaimed
	StatusClosed   = engine.StatusClosed
	// StatusWithdrawn: the person erased their data (/delete) while the case
	// was open. /status no longer knows the code (it has no owner).
	StatusWithdrawn = "withdrawn"
)

// open lists the statuses in which staff and the person can still talk.
var open = []string{StatusReceived, StatusClaimed}

// relayable lists the statuses in which a person's message still reaches
// staff (see Desk.relay).
var relayable = []string{StatusReceived, StatusClaimed, StatusClosed}

func isOpen(status string) bool { return status == StatusReceived || status == StatusClaimed }

// Case is one referral or handoff, as stored.
type Case struct {
	Code    string
	Kind    string
	User    string // "" after /delete
	Service string
	Lang    string
	Status  string
	Created time.Time
	// ConsentAt and ConsentVersion: when the person agreed, to which
	// version of the consent text (referrals only).
	ConsentAt      time.Time
	ConsentVersion string
	// Answers are the service's questions' answers, by name.
	Answers map[string]string

	// Group is the staff group the case was routed to when it was created
	// (a later change of configuration does not move it).
	Group int64
	// Thread is its forum topic (0 until created, or the General topic).
	Thread int
	// Shared is set when the case has no topic of its own (a queue's fixed
	// topic, or a group without topics): staff answer by replying to it.
	Shared bool
	// Card is the message ID of its case card (0 until posted).
	Card int

	ClaimedBy string
	ClaimedAt time.Time
	ClosedBy  string
	ClosedAt  time.Time
	// ClaimedName and ClosedName are the first names of the staff members
	// who claimed and closed it (Telegram), shown on the card.
	ClaimedName string
	ClosedName  string
	// Reminded counts the reminders staff got while the case waited
	// unclaimed (0, 1 or 2).
	Reminded int
}

// Hash fields of a stored case. Names are part of the stored format and of
// KeepAfterDelete.
const (
	fKind           = "kind"
	fUser           = "user"
	fService        = "service"
	fLang           = "lang"
	fStatus         = "status"
	fCreated        = "created"
	fConsentAt      = "consent_at"
	fConsentVersion = "consent_version"
	fAnswers        = "answers"
	fGroup          = "group"
	fThread         = "thread"
	fShared         = "shared"
	fCard           = "card"
	fClaimedBy      = "claimed_by"
	fClaimedAt      = "claimed_at"
	fClosedBy       = "closed_by"
	fClosedAt       = "closed_at"
	fClaimedName    = "claimed_name"
	fClosedName     = "closed_name"
	fReminded       = "reminded"
)

// alwaysKept are kept by /delete whatever KeepAfterDelete says: the status
// and where the case is in Telegram (no personal data), so that staff
// writing in the topic learn the person withdrew.
var alwaysKept = []string{fStatus, fGroup, fThread, fShared, fCard}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// fields is the case as hash field/value pairs (empty values left out).
func (c *Case) fields() map[string]string {
	m := map[string]string{
		fKind: c.Kind, fUser: c.User, fService: c.Service, fLang: c.Lang, fStatus: c.Status,
		fCreated: fmtTime(c.Created), fConsentAt: fmtTime(c.ConsentAt), fConsentVersion: c.ConsentVersion,
		fGroup: strconv.FormatInt(c.Group, 10),
	}
	if len(c.Answers) > 0 {
		b, _ := json.Marshal(c.Answers)
		m[fAnswers] = string(b)
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// parseCase reads a stored case; nil if the hash is empty (expired).
func parseCase(code string, m map[string]string) *Case {
	if len(m) == 0 {
		return nil
	}
	c := &Case{Code: code, Kind: m[fKind], User: m[fUser], Service: m[fService], Lang: m[fLang], Status: m[fStatus],
		Created: parseTime(m[fCreated]), ConsentAt: parseTime(m[fConsentAt]), ConsentVersion: m[fConsentVersion],
		ClaimedBy: m[fClaimedBy], ClaimedAt: parseTime(m[fClaimedAt]), ClosedBy: m[fClosedBy], ClosedAt: parseTime(m[fClosedAt]),
		Shared: m[fShared] == "1", ClaimedName: m[fClaimedName], ClosedName: m[fClosedName]}
	c.Group, _ = strconv.ParseInt(m[fGroup], 10, 64)
	c.Thread, _ = strconv.Atoi(m[fThread])
	c.Card, _ = strconv.Atoi(m[fCard])
	c.Reminded, _ = strconv.Atoi(m[fReminded])
	if a := m[fAnswers]; a != "" {
		_ = json.Unmarshal([]byte(a), &c.Answers)
	}
	return c
}

// Entry is one line of a case's history: who did what when.
type Entry struct {
	At time.Time `json:"at"`
	// Who: "person", "bot", or "staff:<staff user ID>".
	Who  string `json:"who"`
	What string `json:"what"`
	// Text is what was written: a staff note, a message the person sent to
	// staff or staff sent to the person (a caption for media), as staff saw
	// it in the topic. It lives as long as the case (the retention the
	// consents and the data text state) and /delete erases it.
	Text string `json:"text,omitempty"`
}

// Actions recorded in the history (and counted in staff action metrics).
const (
	actCreated   = "created"
	actPosted    = "posted"
	actClaimed   = "claimed"
	actClosed    = "closed"
	actNote      = "note"
	actReply     = "reply"
	actMessage   = "message"
	actAlert     = "emergency"
	actLeft      = "left"
	actWithdrawn = "withdrawn"
	actReminded  = "reminded"
)

const (
	whoPerson = "person"
	whoBot    = "bot"
)

func staffWho(id string) string { return "staff:" + id }

func (e Entry) json() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// codeAlphabet is the engine's: no 0/O, no 1/I.
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// newCode draws a handoff code in the engine's format ("PK-7F3Q").
func newCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	r := binary.LittleEndian.Uint64(b[:])
	out := []byte("PK-????")
	for i := 3; i < len(out); i++ {
		out[i] = codeAlphabet[r%uint64(len(codeAlphabet))]
		r /= uint64(len(codeAlphabet))
	}
	return string(out)
}

// validCode reports whether s is a code in canonical form.
func validCode(s string) bool {
	return len(s) == 7 && strings.HasPrefix(s, "PK-") && engine.NormalizeCode(s) == s
}

func decodeHistory(raw []string) []Entry {
	out := make([]Entry, 0, len(raw))
	for _, s := range raw {
		var e Entry
		if json.Unmarshal([]byte(s), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}
