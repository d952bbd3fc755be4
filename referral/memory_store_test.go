package referral

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/store"
	"putokaz/internal/testkit/polltest"
)

// chat drives a conversation in memory like the playground does.
type chat struct {
	t    *testing.T
	conv *conversation.Runner
	user string
	last []engine.Message
}

func (c *chat) send(in engine.Input) []engine.Message {
	c.t.Helper()
	msgs, err := c.conv.Handle(context.Background(), c.user, in)
	if err != nil {
		c.t.Fatalf("handle %+v: %v", in, err)
	}
	c.last = msgs
	return msgs
}

func (c *chat) press(label string) []engine.Message {
	c.t.Helper()
	for i := len(c.last) - 1; i >= 0; i-- {
		for _, b := range c.last[i].Buttons {
			if strings.Contains(b.Label, label) {
				return c.send(engine.Input{Kind: engine.InButton, Data: b.Data})
			}
		}
	}
	c.t.Fatalf("no button %q in %+v", label, c.last)
	return nil
}

func texts(msgs []engine.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}

// TestMemoryStaff: the playground's staff side, without Telegram or Redis.
func TestMemoryStaff(t *testing.T) {
	mem := NewMemoryStaff()
	cfg := Config{Queues: map[string]Queue{AnyService: {}}, Block: 20 * time.Millisecond}
	holder := content.NewHolder(testContent(t))
	svc, err := New(Options{Config: cfg, Store: NewMemoryStore(), Staff: mem, Content: holder})
	if err != nil {
		t.Fatal(err)
	}
	mem.Bind(svc)
	sessions, err := store.NewMemory(time.Hour, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(99)
	conv := conversation.New(sessions, engine.New(time.Now, func() uint64 { n += 31; return n }), holder, svc, nil)
	conv.Statuses = svc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx, conv) }()
	t.Cleanup(func() { cancel(); <-done })

	c := &chat{t: t, conv: conv, user: "web:1"}
	c.send(engine.Input{Kind: engine.InCommand, Command: "start"})
	c.press("English")
	c.press("Refer me")
	c.press(content.TextReferralYes)
	c.send(engine.Input{Kind: engine.InText, Text: "Zrenjanin"})
	out := c.press(content.TextReferralSkip)
	code := codeRe.FindString(texts(out))
	if code == "" {
		t.Fatalf("no code in %s", texts(out))
	}
	polltest.Until(t, 5*time.Second, "the card", func() bool { return len(mem.Topics()) == 1 && len(mem.Topics()[0].Messages) == 1 })
	top := mem.Topics()[0]
	if top.Name != code+" · Test service" || top.Messages[0].Kind != "card" || !strings.Contains(top.Messages[0].Text, "Zrenjanin") {
		t.Fatalf("topic = %+v", top)
	}
	if o, err := mem.Claim(ctx, code, "web:staff"); err != nil || o != Done {
		t.Fatalf("claim: %v %v", o, err)
	}
	if st, _ := svc.ReferralStatus(ctx, "web:1", code); st != StatusClaimed {
		t.Fatalf("status %q", st)
	}
	if o, _ := mem.Reply(ctx, code, "web:staff", "We call you <soon>"); o != Done {
		t.Fatalf("reply %v", o)
	}
	// Under a header naming the service and the case; then the person's
	// conversation says that what they write goes to the case.
	// (The notice comes through the outbox: it may already be there.)
	var got []engine.Message
	polltest.Until(t, 5*time.Second, "the reply and the case talk notice", func() bool {
		got = append(got, mem.TakePerson("web:1")...)
		return strings.Contains(texts(got), content.TextCaseOpen)
	})
	if got[0].Text != "EN common.case_talk.from Test service "+code+"\nWe call you &lt;soon&gt;" {
		t.Fatalf("person got %+v", got)
	}
	if o, _ := mem.Note(ctx, code, "web:staff", "internal"); o != Done {
		t.Fatalf("note %v", o)
	}

	// A handoff: claimed and closed notices reach the person through the
	// conversation, which resumes.
	c.send(engine.Input{Kind: engine.InCommand, Command: "menu"})
	c.press("Talk")
	live, _ := svc.store.live(ctx, "web:1")
	polltest.Until(t, 5*time.Second, "the handoff card", func() bool { return len(mem.Topics()) == 2 })
	if _, err := mem.Claim(ctx, live, "web:staff"); err != nil {
		t.Fatal(err)
	}
	polltest.Until(t, 5*time.Second, "the claimed notice", func() bool {
		got := mem.TakePerson("web:1")
		return len(got) > 0 && strings.Contains(texts(got), content.TextHandoffClaimed)
	})
	c.send(engine.Input{Kind: engine.InText, Text: "hello staff"})
	polltest.Until(t, 5*time.Second, "the relay", func() bool {
		ms := mem.Topics()[1].Messages
		return len(ms) == 2 && ms[1].Kind == "relay" && strings.Contains(ms[1].Text, "hello staff")
	})
	if o, _ := mem.Close(ctx, live, "web:staff"); o != Done {
		t.Fatalf("close %v", o)
	}
	var closed []engine.Message
	polltest.Until(t, 5*time.Second, "the closed notice", func() bool {
		closed = append(closed, mem.TakePerson("web:1")...)
		return strings.Contains(texts(closed), content.TextHandoffClosed)
	})
	c.last = closed
	if out := c.press(content.TextFeedbackNo); !strings.Contains(texts(out), content.TextFeedbackThanks) {
		t.Errorf("after feedback: %s", texts(out))
	}
	if !mem.Topics()[1].Closed {
		t.Error("topic not closed")
	}
	// /delete withdraws the open referral; staff see it.
	c.send(engine.Input{Kind: engine.InCommand, Command: "delete"})
	c.press(content.TextDeleteYes)
	polltest.Until(t, 5*time.Second, "the withdrawn notice", func() bool {
		ms := mem.Topics()[0].Messages
		return strings.Contains(ms[len(ms)-1].Text, "withdrew")
	})
	if cs, _ := svc.Case(ctx, code); cs.Status != StatusWithdrawn || cs.User != "" || cs.Answers != nil {
		t.Errorf("after delete: %+v", cs)
	}
}

// TestStaffTextsInLocale: every staff text the code falls back to is in
// locales/active.en.yaml with the same words, so editors change the real
// ones.
func TestStaffTextsInLocale(t *testing.T) {
	raw, err := os.ReadFile("../locales/active.en.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Staff map[string]map[string]string `yaml:"staff"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for id, want := range defaultTexts {
		parts := strings.Split(id, ".")
		if len(parts) != 3 || parts[0] != "staff" {
			t.Errorf("%s: staff texts are staff.<group>.<name>", id)
			continue
		}
		if got := doc.Staff[parts[1]][parts[2]]; got != want {
			t.Errorf("%s: locale has %q, code falls back to %q", id, got, want)
		}
	}
}

// TestConfigValidation: mistakes are explained, all at once.
func TestConfigValidation(t *testing.T) {
	cfg := Config{Queues: map[string]Queue{
		"a": {Group: 5},
		"b": {Group: -1, WebhookURL: "ftp://x"},
	}, KeepAfterDelete: []string{"answers"}, MinIdle: time.Second, LeaseTTL: time.Minute}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"negative", "http(s) URL", "needs a secret", `"answers"`, "min_idle"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if got := (Config{Queues: map[string]Queue{"a": {}}}).Unserved([]string{"a", "b"}); len(got) != 1 || got[0] != "b" {
		t.Errorf("unserved = %v", got)
	}
	if got := (Config{Queues: map[string]Queue{AnyService: {}}}).Unserved([]string{"a", "b"}); len(got) != 0 {
		t.Errorf("unserved with * = %v", got)
	}
}

// Topic names are the code and the service's name in the staff language
// (falling back to English, then to the service's ID); the staff language
// is English or Serbian.
func TestTopicNameInWords(t *testing.T) {
	for _, lang := range []string{"", "en", "sr-Cyrl"} {
		svc, err := New(Options{Store: NewMemoryStore(), Staff: NewMemoryStaff(), Content: content.NewHolder(testContent(t)),
			Config: Config{Queues: map[string]Queue{AnyService: {}}, StaffLanguage: lang}})
		if err != nil {
			t.Fatal(err)
		}
		for service, want := range map[string]string{"svc": "PK-7F3Q · Test service", "svc2": "PK-7F3Q · Second service",
			"gone": "PK-7F3Q · gone"} {
			if got := svc.topicName(&Case{Code: "PK-7F3Q", Service: service}); got != want {
				t.Errorf("staff language %q: topic of %s = %q, want %q", lang, service, got, want)
			}
		}
	}
	if err := (Config{StaffLanguage: "fa"}).Validate(); err == nil || !strings.Contains(err.Error(), "staff_language") {
		t.Errorf("staff language fa accepted: %v", err)
	}
}
