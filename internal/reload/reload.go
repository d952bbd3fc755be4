// Package reload keeps the content in use up to date with a content folder
// while the process runs (hot reload): editors save a flow or a text and the
// next message already uses it, without a restart.
//
// A reload loads and fully checks the folder, and swaps the new content into
// the content.Holder only when it has no errors: a broken edit is rejected,
// its problems are logged (each as file:line:col: sentence) and the last good
// content keeps serving. Content built into the binary never reloads: the
// caller simply does not start a Reloader for it.
//
// Triggers are file changes under flows/ and locales/ (debounced, so an
// editor's save of several files or a "git checkout" gives one reload) and
// SIGHUP, for operators and for editors whose files live on a network share
// where file events do not arrive. The Reloader does not call signal.Notify
// itself: the caller passes a channel (see NotifyHUP), so tests can send a
// signal without touching the process's signal handlers and a program that
// already handles SIGHUP keeps control of it.
package reload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"putokaz/internal/content"
)

// DefaultDebounce is how long the folder must stay quiet after a change
// before it is reloaded. Editors write a file in several steps (truncate,
// write, rename a temporary file over it); reloading after the first event
// would read a half-written file and report a problem that is not there.
const DefaultDebounce = 300 * time.Millisecond

// Triggers recorded in Result.Trigger.
const (
	TriggerStart  = "start"  // the content loaded when the process started
	TriggerFile   = "file"   // a file under flows/ or locales/ changed
	TriggerSignal = "signal" // SIGHUP
	TriggerManual = "manual" // Reload was called directly
)

// Result is the outcome of the last load. It holds no personal data: content
// problems name files, lines and content names only.
type Result struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"`
	// OK is false when the last attempt was rejected; Version is then still
	// the version of the content in use (the last good one).
	OK      bool   `json:"ok"`
	Version string `json:"version"`
	// Problems are the check's messages ("file:line:col: sentence"; warnings
	// say so). On a rejected reload the errors come first.
	Problems []string `json:"problems"`
}

// Options configure a Reloader.
type Options struct {
	// Dir is the content folder holding flows/ and locales/.
	Dir string
	// Holder receives the new content; it must already hold the content
	// loaded at start.
	Holder *content.Holder
	// Load loads and checks the content of Dir; it returns nil content when
	// there are errors (internal/app's loadContent).
	Load func() (*content.Content, content.Diags)
	// Signals, if set, triggers a reload for every value received (pass
	// NotifyHUP's channel).
	Signals <-chan os.Signal
	// Debounce overrides DefaultDebounce (tests use a shorter one).
	Debounce time.Duration
	// Log receives one line per reload and one per problem; nil: slog.Default.
	Log *slog.Logger
	// StartProblems are the warnings of the content loaded at start, so that
	// Last reports them before the first reload.
	StartProblems content.Diags
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// OnReload, if set, is called after every reload attempt (metrics,
	// tests). It must not block.
	OnReload func(Result)
}

// Reloader reloads content from a folder. Create it with New, start it with
// Start; Reload and Last are safe for concurrent use.
type Reloader struct {
	opt Options

	// mu serialises reloads, so that a slow load started by a file event
	// can never swap older content over a newer one loaded by SIGHUP.
	mu   sync.Mutex
	last Result
	// lastMu guards last for readers (the playground polls it), so a
	// status request never waits for a reload in progress.
	lastMu sync.RWMutex
}

// New returns a Reloader for opt. It does not start watching: call Start.
func New(opt Options) (*Reloader, error) {
	if opt.Dir == "" || opt.Holder == nil || opt.Load == nil {
		return nil, errors.New("reload: Dir, Holder and Load are required")
	}
	if opt.Holder.Content() == nil {
		return nil, errors.New("reload: the holder has no content; load it before starting the reloader")
	}
	if opt.Debounce <= 0 {
		opt.Debounce = DefaultDebounce
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Reloader{opt: opt}
	r.last = Result{At: opt.Now(), Trigger: TriggerStart, OK: true,
		Version: opt.Holder.Content().Version, Problems: diagStrings(opt.StartProblems)}
	return r, nil
}

// NotifyHUP relays SIGHUP to the returned channel (for Options.Signals);
// stop restores the default behaviour, which ends the process.
func NotifyHUP() (ch <-chan os.Signal, stop func()) {
	c := make(chan os.Signal, 1) // buffered: signal.Notify never blocks
	signal.Notify(c, syscall.SIGHUP)
	return c, func() { signal.Stop(c) }
}

// Last returns the result of the last load (at start, or the last reload).
func (r *Reloader) Last() Result {
	r.lastMu.RLock()
	defer r.lastMu.RUnlock()
	res := r.last
	res.Problems = append([]string(nil), res.Problems...)
	return res
}

// Reload loads the folder now and swaps the content in if it has no errors.
func (r *Reloader) Reload() Result { return r.reload(TriggerManual) }

func (r *Reloader) reload(trigger string) Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	log := r.opt.Log
	start := r.opt.Now()
	c, diags := r.opt.Load()
	res := Result{At: start, Trigger: trigger}
	if c == nil || diags.HasErrors() {
		res.OK = false
		res.Version = r.opt.Holder.Content().Version
		errs := diags.Errors()
		res.Problems = diagStrings(append(errs, warnings(diags)...))
		// One line per problem: the log is where an editor without the
		// playground open (a server, the terminal) finds what to fix.
		// Diags hold file:line:col and content names, never personal data.
		for _, d := range errs {
			log.Warn("content reload rejected", "problem", d.String())
		}
		if len(errs) == 0 {
			log.Warn("content reload rejected", "problem", "the content could not be loaded")
			res.Problems = append(res.Problems, "the content could not be loaded")
		}
		log.Warn("content reload rejected: the last good content keeps serving",
			"trigger", trigger, "errors", len(errs), "version", res.Version)
	} else {
		old := r.opt.Holder.Content().Version
		r.opt.Holder.Swap(c)
		res.OK = true
		res.Version = c.Version
		res.Problems = diagStrings(diags)
		log.Info("content reloaded", "trigger", trigger, "version", c.Version,
			"previous", old, "warnings", len(diags), "took", time.Since(start).Round(time.Millisecond))
	}
	r.lastMu.Lock()
	r.last = res
	r.lastMu.Unlock()
	if r.opt.OnReload != nil {
		r.opt.OnReload(res)
	}
	return res
}

func warnings(ds content.Diags) content.Diags {
	var out content.Diags
	for _, d := range ds {
		if d.Severity != content.Error {
			out = append(out, d)
		}
	}
	return out
}

func diagStrings(ds content.Diags) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// Start begins watching the folder and the signal channel, until ctx ends.
// The watches are in place when it returns, so a change made afterwards is
// never missed. wait blocks until watching has stopped (after ctx ends). The
// error is returned only if the folder cannot be watched at all.
//
// It watches the folders, not the files: editors that save by writing a
// new file and renaming it over the old one (vim, many IDEs) replace the
// file a per-file watch would follow. The content folder itself is watched
// too, so flows/ or locales/ deleted and created again (a git checkout) are
// picked up again.
func (r *Reloader) Start(ctx context.Context) (wait func(), err error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("reload: start watching %s: %w", r.opt.Dir, err)
	}
	if err := w.Add(r.opt.Dir); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("reload: watch %s: %w", r.opt.Dir, err)
	}
	for _, sub := range contentDirs {
		r.watch(w, sub)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Close()
		r.loop(ctx, w)
	}()
	return func() { <-done }, nil
}

func (r *Reloader) loop(ctx context.Context, w *fsnotify.Watcher) {
	timer := time.NewTimer(r.opt.Debounce)
	timer.Stop()
	defer timer.Stop()
	var fire <-chan time.Time
	sig := r.opt.Signals
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !r.relevant(w, ev) {
				continue
			}
			// Go 1.23 timers: Reset discards a pending expiry, no drain needed.
			timer.Reset(r.opt.Debounce)
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			r.opt.Log.Warn("content watch error", "err", err)
			// An overflow of the kernel's event queue loses events: reload
			// to be sure the content matches the files.
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				timer.Reset(r.opt.Debounce)
				fire = timer.C
			}
		case <-fire:
			fire = nil
			r.reload(TriggerFile)
		case _, ok := <-sig: // a nil channel never fires
			if !ok {
				sig = nil // closed: stop listening rather than spin
				continue
			}
			r.reload(TriggerSignal)
		}
	}
}

// contentDirs are the folders of Dir that hold content.
var contentDirs = []string{"flows", "locales"}

func (r *Reloader) watch(w *fsnotify.Watcher, sub string) {
	p := filepath.Join(r.opt.Dir, sub)
	if err := w.Add(p); err != nil {
		// Not fatal: the folder may appear later (then the Dir watch sees it)
		// and the next reload reports it missing in the editor's terms.
		r.opt.Log.Warn("content folder not watched", "folder", filepath.ToSlash(p), "err", err)
	}
}

// relevant reports whether an event may change the content, and re-adds a
// content folder that was created again.
func (r *Reloader) relevant(w *fsnotify.Watcher, ev fsnotify.Event) bool {
	if ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write|fsnotify.Create|fsnotify.Remove|fsnotify.Rename) {
		return false // touch, permission changes, some editors' atime updates
	}
	dir, base := filepath.Split(filepath.Clean(ev.Name))
	if filepath.Clean(dir) == filepath.Clean(r.opt.Dir) {
		for _, sub := range contentDirs {
			if base == sub {
				if ev.Has(fsnotify.Create) {
					r.watch(w, sub)
				}
				return true
			}
		}
		return false // config.yaml, README.md, ... are not content
	}
	// Only YAML files count; editors' lock and swap files (".#main.yaml",
	// ".main.yaml.swp", "main.yaml~") do not.
	if strings.HasPrefix(base, ".") {
		return false
	}
	ext := filepath.Ext(base)
	return ext == ".yaml" || ext == ".yml"
}
