package reload_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/reload"
	"putokaz/internal/store"
	"putokaz/internal/testkit/contenttest"
	"putokaz/internal/testkit/testlog"
)

// load is what internal/app passes the reloader.
func load(dir string) func() (*content.Content, content.Diags) {
	return func() (*content.Content, content.Diags) { return engine.Load(content.Dir(dir)) }
}

type fixture struct {
	dir     string
	holder  *content.Holder
	r       *reload.Reloader
	results chan reload.Result
	log     *testlog.Buffer
}

// start writes the test content to a temporary folder, loads it and starts
// a Reloader on it; opt may adjust the options before New.
func start(t *testing.T, opt func(*reload.Options)) *fixture {
	t.Helper()
	f := &fixture{dir: contenttest.Write(t, nil), results: make(chan reload.Result, 16), log: &testlog.Buffer{}}
	c, diags := load(f.dir)()
	if c == nil {
		t.Fatalf("test content does not load: %v", diags)
	}
	f.holder = content.NewHolder(c)
	o := reload.Options{
		Dir: f.dir, Holder: f.holder, Load: load(f.dir), Debounce: 50 * time.Millisecond,
		Log:      slog.New(slog.NewTextHandler(f.log, nil)),
		OnReload: func(r reload.Result) { f.results <- r },
	}
	if opt != nil {
		opt(&o)
	}
	r, err := reload.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	ctx, cancel := context.WithCancel(context.Background())
	wait, err := r.Start(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); wait() })
	return f
}

func (f *fixture) write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// edit replaces old by new in a content file (which must contain old).
func (f *fixture) edit(t *testing.T, name, old, new string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	f.write(t, name, strings.Replace(string(data), old, new, 1))
}

func (f *fixture) next(t *testing.T) reload.Result {
	t.Helper()
	select {
	case r := <-f.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no reload within 10s")
		return reload.Result{}
	}
}

// quiet fails if a reload happens within d.
func (f *fixture) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case r := <-f.results:
		t.Fatalf("unexpected reload (%s)", r.Trigger)
	case <-time.After(d):
	}
}

func text(t *testing.T, c *content.Content, id string) string {
	t.Helper()
	s, ok := c.Texts.Plain("en", id)
	if !ok {
		t.Fatalf("no text %s", id)
	}
	return s
}

func TestGoodEditSwaps(t *testing.T) {
	f := start(t, nil)
	before := f.holder.Content().Version
	if l := f.r.Last(); !l.OK || l.Trigger != reload.TriggerStart || l.Version != before {
		t.Fatalf("before any edit: %+v", l)
	}
	f.edit(t, "locales/active.en.yaml", "menu: Choose a topic.", "menu: Pick a topic.")
	res := f.next(t)
	if !res.OK || res.Trigger != reload.TriggerFile {
		t.Fatalf("result: %+v", res)
	}
	c := f.holder.Content()
	if c.Version == before || res.Version != c.Version {
		t.Fatalf("version not swapped: before %s, now %s, result %s", before, c.Version, res.Version)
	}
	if got := text(t, c, "main.menu"); got != "Pick a topic." {
		t.Fatalf("text after reload: %q", got)
	}
	if l := f.r.Last(); l.Version != c.Version || !l.OK {
		t.Fatalf("Last: %+v", l)
	}
	if !strings.Contains(f.log.String(), "content reloaded") {
		t.Errorf("log: %s", f.log)
	}
}

func TestBrokenEditKeepsOldContent(t *testing.T) {
	f := start(t, nil)
	good := f.holder.Content()
	f.edit(t, "flows/sos.yaml", "say: sos.numbers", "sya: sos.numbers")
	res := f.next(t)
	if res.OK {
		t.Fatalf("broken edit accepted: %+v", res)
	}
	if f.holder.Content() != good {
		t.Fatal("broken content was swapped in")
	}
	if res.Version != good.Version {
		t.Fatalf("result version %s, want the content still in use %s", res.Version, good.Version)
	}
	want := filepath.ToSlash(filepath.Join(f.dir, "flows/sos.yaml")) + ":7:5: step \"numbers\" has no field \"sya\""
	if !slices.ContainsFunc(res.Problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
		t.Fatalf("problems %q, want one starting with %q", res.Problems, want)
	}
	if strings.Contains(res.Problems[0], "warning:") {
		t.Errorf("errors must come before warnings: %q", res.Problems)
	}
	log := f.log.String()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "flows/sos.yaml:7:5") {
		t.Fatalf("the problem is not in the log at warn level:\n%s", log)
	}
	// Fixing the edit brings the content back.
	f.edit(t, "flows/sos.yaml", "sya: sos.numbers", "say: sos.numbers")
	if res := f.next(t); !res.OK {
		t.Fatalf("fixed content rejected: %+v", res)
	}
}

func TestSIGHUP(t *testing.T) {
	sig, stop := reload.NotifyHUP()
	defer stop()
	// A debounce longer than the test: only the signal can reload.
	f := start(t, func(o *reload.Options) { o.Signals = sig; o.Debounce = time.Hour })
	before := f.holder.Content().Version
	f.edit(t, "locales/active.en.yaml", "menu: Choose a topic.", "menu: Topics.")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	res := f.next(t)
	if !res.OK || res.Trigger != reload.TriggerSignal || res.Version == before {
		t.Fatalf("result: %+v (before %s)", res, before)
	}
	if got := text(t, f.holder.Content(), "main.menu"); got != "Topics." {
		t.Fatalf("text after SIGHUP: %q", got)
	}
}

// Editors such as vim save by writing another file and renaming it over the
// original; the watch is on the folder, so it still sees the change.
func TestRenameOverFile(t *testing.T) {
	f := start(t, nil)
	p := filepath.Join(f.dir, "locales/active.en.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(f.dir, "locales", ".active.en.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(strings.Replace(string(data), "Choose a topic.", "Renamed.", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	if res := f.next(t); !res.OK {
		t.Fatalf("%+v", res)
	}
	if got := text(t, f.holder.Content(), "main.menu"); got != "Renamed." {
		t.Fatalf("text after rename: %q", got)
	}
	// A second edit still arrives: the watch survived the rename.
	f.edit(t, "locales/active.en.yaml", "Renamed.", "Again.")
	f.next(t)
	if got := text(t, f.holder.Content(), "main.menu"); got != "Again." {
		t.Fatalf("text after second edit: %q", got)
	}
}

func TestDebounceAndIgnoredFiles(t *testing.T) {
	// A debounce well above a loaded machine's hiccups between two writes.
	f := start(t, func(o *reload.Options) { o.Debounce = 300 * time.Millisecond })
	// Files that are not content: no reload.
	f.write(t, "README.md", "notes")
	f.write(t, "flows/.#main.yaml", "lock")
	f.write(t, "locales/notes.txt", "x")
	f.quiet(t, 400*time.Millisecond)
	// (The loader would read the lock file as a flow: remove it, unnoticed.)
	if err := os.Remove(filepath.Join(f.dir, "flows/.#main.yaml")); err != nil {
		t.Fatal(err)
	}
	f.quiet(t, 300*time.Millisecond)
	// A burst of saves is one reload.
	for i := range 5 {
		f.edit(t, "locales/active.en.yaml", "menu: ", "menu: "+string(rune('a'+i)))
	}
	if res := f.next(t); !res.OK {
		t.Fatalf("%+v", res)
	}
	f.quiet(t, 700*time.Millisecond)
	if got := text(t, f.holder.Content(), "main.menu"); got != "edcbaChoose a topic." {
		t.Fatalf("text: %q", got)
	}
}

// A person stands on a step that an edit removes: their next input brings
// them to the menu with a notice that the content changed (the engine does
// this; the test proves it holds through a real reload).
func TestVanishedStep(t *testing.T) {
	f := start(t, nil)
	mem, err := store.NewMemory(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	conv := conversation.New(mem, engine.New(time.Now, func() uint64 { return 42 }), f.holder, nil, nil)
	ctx := context.Background()
	send := func(in engine.Input) []engine.Message {
		t.Helper()
		msgs, err := conv.Handle(ctx, "web:0123abcd", in)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		return msgs
	}
	msgs := send(engine.Input{Kind: engine.InButton, Data: "L:en"})
	var near string
	for _, b := range msgs[len(msgs)-1].Buttons {
		if b.Label == "Nearest" {
			near = b.Data
		}
	}
	if near == "" {
		t.Fatalf("no Nearest button in %+v", msgs)
	}
	msgs = send(engine.Input{Kind: engine.InButton, Data: near})
	if !msgs[len(msgs)-1].RequestLocation {
		t.Fatalf("not asked for a location: %+v", msgs)
	}

	// Remove the step the person stands on (and what only it led to).
	main := contenttest.Files()["flows/main.yaml"]
	main = strings.Replace(main, "      - { label: main.btn.near, go: where }\n", "", 1)
	main = main[:strings.Index(main, "  where:\n")]
	f.write(t, "flows/main.yaml", main)
	if res := f.next(t); !res.OK {
		t.Fatalf("edit rejected: %v", res.Problems)
	}
	if f.holder.Content().Step(content.Ref{Flow: "main", Step: "where"}) != nil {
		t.Fatal("step still there")
	}

	msgs = send(engine.Input{Kind: engine.InLocation, Lat: 44.81, Lon: 20.46})
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "EN "+content.TextContentChanged) {
		t.Fatalf("no content-changed notice in:\n%s", all)
	}
	if !strings.Contains(texts[len(texts)-1], "Choose a topic.") {
		t.Fatalf("not back at the menu:\n%s", all)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := reload.New(reload.Options{}); err == nil {
		t.Fatal("empty options accepted")
	}
	if _, err := reload.New(reload.Options{Dir: t.TempDir(), Holder: content.NewHolder(nil),
		Load: func() (*content.Content, content.Diags) { return nil, nil }}); err == nil {
		t.Fatal("empty holder accepted")
	}
}
