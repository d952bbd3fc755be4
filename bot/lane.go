package bot

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Lane says what kind of message a send is, and so which of the Sender's
// limits it waits for and who goes first when several wait.
//
// Every message waits for its chat's pacing (about 1/s per private chat,
// 20/min per group) and for a 429's retry_after. Only bulk lanes (LaneStaff,
// LaneBulk) are held to the overall GlobalPerSecond — Telegram's ceiling on
// notifications to many people; answers to people who just wrote
// (LaneReply, LaneEmergency) go as fast as Telegram accepts them. When
// several sends wait at one gate, Emergency goes before Reply before Staff
// before Bulk (FIFO within a lane), and Bulk uses only what every lane's
// sends leave of the global limit, spread evenly (leftover).
type Lane int

const (
	LaneReply     Lane = iota // answer to a person who just wrote (the default for a context without a lane)
	LaneEmergency             // an emergency answer: never waits behind anything else
	LaneStaff                 // staff relay, staff cards, staff-group messages, reminders
	LaneBulk                  // urgent updates / announcements: only the rate left below the global limit
)

// numLanes is the number of lanes (for arrays indexed by priority).
const numLanes = 4

// Lanes lists the lanes from the most urgent to the least.
var Lanes = [numLanes]Lane{LaneEmergency, LaneReply, LaneStaff, LaneBulk}

func (l Lane) String() string {
	switch l {
	case LaneEmergency:
		return "emergency"
	case LaneStaff:
		return "staff"
	case LaneBulk:
		return "bulk"
	}
	return "reply"
}

// priority is the lane's rank: 0 goes first.
func (l Lane) priority() int {
	switch l {
	case LaneEmergency:
		return 0
	case LaneStaff:
		return 2
	case LaneBulk:
		return 3
	}
	return 1
}

// capped reports whether the lane is held to the global limit.
func (l Lane) capped() bool { return l == LaneStaff || l == LaneBulk }

type laneCtxKey struct{}

// WithLane marks the sends made with ctx (Sender.Call, Sender.Send) as
// lane l.
func WithLane(ctx context.Context, l Lane) context.Context {
	return context.WithValue(ctx, laneCtxKey{}, l)
}

// LaneOf is the lane of ctx: LaneReply unless WithLane said otherwise.
func LaneOf(ctx context.Context) Lane {
	if l, ok := ctx.Value(laneCtxKey{}).(Lane); ok && l >= LaneReply && l <= LaneBulk {
		return l
	}
	return LaneReply
}

// gate admits sends one at a time in lane priority: Emergency, Reply,
// Staff, Bulk, first come first served within a lane. A send needs a token
// of the gate's bucket unless its lane is free at this gate, and nobody
// passes while the gate is blocked (a 429's retry_after). A waiter that
// cannot have a token holds back every waiter of its lane and the lanes
// below it, never the ones above.
//
// Waiters are admitted by whoever changes the gate (a new waiter, a token
// due, the end of a block), under the gate's lock, so admission order is
// exactly priority order; each waiter sleeps on its own channel.
type gate struct {
	lim   *rate.Limiter // nil: no lane needs a token
	inf   bool          // lim has an infinite rate: every token is there
	burst float64
	free  [numLanes]bool // by priority: lanes that need no token here
	// bulkWait, when set, says how long LaneBulk must still wait at now
	// besides its token (0: it may go); admitted notes every admission.
	bulkWait func(now time.Time) time.Duration
	admitted func(now time.Time, l Lane)

	mu    sync.Mutex
	until time.Time // blocked before this (429 retry_after)
	q     [numLanes][]*gateWaiter
	timer *time.Timer
}

type gateWaiter struct {
	lane  Lane
	ready chan struct{} // closed when admitted (nil for one admitted at once)
	done  bool
	fresh bool
}

func newGate(lim *rate.Limiter) *gate {
	g := &gate{lim: lim}
	if lim != nil {
		g.inf = lim.Limit() == rate.Inf
		g.burst = float64(lim.Burst())
	}
	return g
}

// wait blocks until a send in lane may go. fresh reports that the gate's
// bucket was full: nothing had gone through it lately, so a 429 that
// follows is not about this gate.
func (g *gate) wait(ctx context.Context, lane Lane) (fresh bool, err error) {
	w := &gateWaiter{lane: lane}
	p := lane.priority()
	g.mu.Lock()
	g.q[p] = append(g.q[p], w)
	g.admitLocked(time.Now())
	if w.done {
		g.mu.Unlock()
		return w.fresh, nil
	}
	w.ready = make(chan struct{})
	g.mu.Unlock()
	select {
	case <-w.ready:
		return w.fresh, nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.done {
		return w.fresh, nil // admitted as the context ended: go
	}
	if i := slices.Index(g.q[p], w); i >= 0 {
		g.q[p] = slices.Delete(g.q[p], i, i+1)
	}
	g.admitLocked(time.Now()) // those behind it may go now
	return false, ctx.Err()
}

// block keeps every lane out until t.
func (g *gate) block(t time.Time) {
	g.mu.Lock()
	if t.After(g.until) {
		g.until = t
	}
	g.admitLocked(time.Now())
	g.mu.Unlock()
}

func (g *gate) blockedUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.until
}

// waiting is the number of sends waiting at the gate.
func (g *gate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, q := range g.q {
		n += len(q)
	}
	return n
}

func (g *gate) kick() {
	g.mu.Lock()
	g.admitLocked(time.Now())
	g.mu.Unlock()
}

// admitLocked lets through, in priority order, every waiter that may go
// now, and sets the timer for the first that may not.
func (g *gate) admitLocked(now time.Time) {
	for p := range g.q {
		for len(g.q[p]) > 0 {
			w := g.q[p][0]
			if now.Before(g.until) {
				g.wakeLocked(g.until.Sub(now))
				return
			}
			fresh := true
			if !g.free[p] && g.lim != nil && !g.inf {
				tokens := g.lim.TokensAt(now)
				if tokens < 1 {
					g.wakeLocked(time.Duration((1 - tokens) / float64(g.lim.Limit()) * float64(time.Second)))
					return
				}
				if w.lane == LaneBulk && g.bulkWait != nil {
					if d := g.bulkWait(now); d > 0 {
						g.wakeLocked(d)
						return
					}
				}
				fresh = tokens >= g.burst-1e-9
				g.lim.AllowN(now, 1)
			}
			g.q[p][0] = nil
			g.q[p] = g.q[p][1:]
			w.done, w.fresh = true, fresh
			if g.admitted != nil {
				g.admitted(now, w.lane)
			}
			if w.ready != nil {
				close(w.ready)
			}
		}
	}
}

// wakeLocked makes the gate look again after d.
func (g *gate) wakeLocked(d time.Duration) {
	d = max(d, time.Millisecond)
	if g.timer == nil {
		g.timer = time.AfterFunc(d, g.kick)
		return
	}
	g.timer.Reset(d)
}

// leftover is LaneBulk's share of the global limit: a bucket of perSecond
// that every lane's send drains — into debt, at most a second's worth —
// and that bulk may draw on only while a token is left. So bulk gets what
// the other lanes leave of the limit, spread evenly: a window of the last
// second's sends let it go in bursts whenever a slot of the window ended,
// and those bursts delayed the replies sent at the same moment.
// Used under the gate's lock.
type leftover struct {
	rate, burst float64
	tokens      float64
	at          time.Time
}

func newLeftover(perSecond float64) *leftover {
	// A burst of 50 ms of the rate (at least one message), so that a late
	// wake-up of a busy machine does not cost rate.
	b := max(1, math.Floor(perSecond/20))
	return &leftover{rate: perSecond, burst: b, tokens: b}
}

func (l *leftover) refill(now time.Time) {
	if l.at.IsZero() {
		l.at = now
	}
	if d := now.Sub(l.at).Seconds(); d > 0 {
		l.tokens = min(l.burst, l.tokens+d*l.rate)
		l.at = now
	}
}

// take counts a send of any lane.
func (l *leftover) take(now time.Time) {
	l.refill(now)
	l.tokens = max(l.tokens-1, -l.rate)
}

// wait is how long bulk must wait at now for a token (0: it may go).
func (l *leftover) wait(now time.Time) time.Duration {
	l.refill(now)
	if l.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
}

// newGlobalGate is the gate every message passes after its chat's: a 429
// that was not about one chat blocks it for every lane; Emergency and Reply
// need no token; Staff and Bulk share a bucket of perSecond (burst), Staff
// first; Bulk goes only with what every lane's sends leave of perSecond
// (leftover).
func newGlobalGate(perSecond float64, burst int) *gate {
	g := newGate(rate.NewLimiter(rate.Limit(perSecond), burst))
	for _, l := range Lanes {
		g.free[l.priority()] = !l.capped()
	}
	if math.IsInf(perSecond, 1) {
		return g
	}
	left := newLeftover(perSecond)
	g.admitted = func(now time.Time, _ Lane) { left.take(now) }
	g.bulkWait = left.wait
	return g
}

// emergencyCtxKey marks the handling of a person's update: the Effects
// wrapper sets it when the conversation's answer is an emergency one
// (engine.EffectEmergency), and the dispatcher sends that answer in
// LaneEmergency.
type emergencyCtxKey struct{}

func withEmergencyMark(ctx context.Context) (context.Context, *atomic.Bool) {
	m := new(atomic.Bool)
	return context.WithValue(ctx, emergencyCtxKey{}, m), m
}

// markEmergency records that the update being handled got an emergency
// answer (no-op outside the handling of a person's update).
func markEmergency(ctx context.Context) {
	if m, ok := ctx.Value(emergencyCtxKey{}).(*atomic.Bool); ok {
		m.Store(true)
	}
}
