package engine

import (
	"html"
	"slices"

	"putokaz/internal/content"
)

// Subscriptions to topic updates (issue 17). The session keeps the topics
// the person follows (Session.Subs) so that buttons and lists show the
// right state; the effects EffectSubscribe and EffectUnsubscribe tell the
// store. Button targets:
//
//	sub:+flow / sub:-flow    the toggle under a topic's first message
//	subl:+flow / subl:-flow  a topic in the /subscribe list
//	unsub:flow / unsub:      a topic in the /unsubscribe list, or all of them
//	subl:                    open the /subscribe list
//	back:                    back to where the person was

// subscribed reports whether the person follows topic.
func (t *turn) subscribed(topic string) bool {
	_, ok := slices.BinarySearch(t.s.Subs, topic)
	return ok
}

// followable reports whether the person may follow flow: it exists, is
// marked subscribable and serves their language.
func (t *turn) followable(flow string) bool {
	f := t.c.Flows[flow]
	return f != nil && f.Subscribable && f.Serves(t.s.Lang)
}

// subToggle is the button under a subscribable topic's first message, or
// nil elsewhere.
func (t *turn) subToggle(st *content.Step) *button {
	f := t.c.Flows[t.s.Flow]
	if f == nil || f.Start != st.Name || f.Steps[st.Name] != st || !t.followable(f.Name) {
		return nil
	}
	if t.subscribed(f.Name) {
		return &button{content.TextUnsubButton, "sub:-" + f.Name}
	}
	return &button{content.TextSubButton, "sub:+" + f.Name}
}

// follow subscribes or unsubscribes the person, saying so in one line.
func (t *turn) follow(flow string, on bool) {
	title := t.topicTitle(flow)
	if on {
		if !t.subscribed(flow) {
			t.s.Subs = append(t.s.Subs, flow)
			slices.Sort(t.s.Subs)
		}
		t.fx = append(t.fx, Effect{Kind: EffectSubscribe, Flow: flow, Lang: t.s.Lang})
		t.notice = "subscribed"
		t.sayWith(content.TextSubDone, map[string]string{"topic": title})
		return
	}
	t.s.Subs = slices.DeleteFunc(t.s.Subs, func(s string) bool { return s == flow })
	if len(t.s.Subs) == 0 {
		t.s.Subs = nil
	}
	t.fx = append(t.fx, Effect{Kind: EffectUnsubscribe, Flow: flow})
	t.notice = "unsubscribed"
	t.sayWith(content.TextUnsubDone, map[string]string{"topic": title})
}

// topicTitle is a topic's title as plain text (it is escaped again when it
// fills {{.topic}}), or its name when the flow is gone.
func (t *turn) topicTitle(flow string) string {
	if f := t.c.Flows[flow]; f != nil && f.Title != "" {
		return html.UnescapeString(t.text(f.Title))
	}
	return flow
}

// subButton handles the subscription buttons (see the targets above).
func (t *turn) subButton(kind, arg string) {
	if kind == "back" {
		t.reshow()
		return
	}
	if kind == "unsub" {
		if arg == "" {
			t.unsubscribeAll()
			return
		}
		t.follow(arg, false)
		t.unsubscribeList(false)
		return
	}
	if arg == "" { // subl: opens the list
		t.subscribeList()
		return
	}
	on, flow := arg[0] == '+', arg[1:]
	if flow == "" || (on && !t.followable(flow)) {
		t.notice = "stale_button"
		t.say(content.TextStale)
		t.reshow()
		return
	}
	t.follow(flow, on)
	if kind == "subl" {
		t.subscribeList()
		return
	}
	// Under the topic's first message again: its buttons, the toggle
	// turned over, and no dead end.
	if st := t.current(); st != nil && t.subToggle(st) != nil {
		t.keyboardWith(nil, st)
		return
	}
	t.reshow()
}

// subscribeList shows /subscribe: every topic the person may follow, ✅ on
// those they do; a press turns one on or off.
func (t *turn) subscribeList() {
	var bs []rawButton
	for _, name := range t.topicOrder() {
		if !t.followable(name) {
			continue
		}
		label, sign := t.topicTitle(name), "+"
		if t.subscribed(name) {
			label, sign = t.mark("✅", label), "-"
		}
		bs = append(bs, rawButton{label, "subl:" + sign + name})
	}
	if len(bs) == 0 {
		t.say(content.TextSubNoTopics)
	} else {
		t.say(content.TextSubList)
		if t.notice == "" {
			t.notice = "subscribe_list"
		}
	}
	t.keyboardRaw(append(bs, t.backButtons()...))
}

// topicOrder is every flow in the order the main menu offers them (its
// steps' buttons, in file order), then the others in content order: the
// /subscribe list reads like the menu people know.
func (t *turn) topicOrder() []string {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	if home := t.c.Flows[content.HomeFlow]; home != nil {
		for _, sn := range home.Order {
			for _, b := range home.Steps[sn].Buttons {
				if b.Go != nil && b.Go.Flow != content.HomeFlow {
					add(b.Go.Flow)
				}
			}
		}
	}
	for _, name := range t.c.FlowOrder {
		add(name)
	}
	return out
}

// unsubscribeList shows /unsubscribe: a button per topic the person
// follows and one to stop them all; without any, says so and offers the
// /subscribe list. fresh is false right after a topic was stopped (the
// line saying so is already out): an empty list then needs no sentence.
func (t *turn) unsubscribeList(fresh bool) {
	if len(t.s.Subs) == 0 {
		if fresh {
			t.say(content.TextUnsubNone)
			t.notice = "unsubscribe_none"
		}
		t.keyboardRaw(append([]rawButton{t.sys(content.TextSubChoose, "subl:")}, t.backButtons()...))
		return
	}
	if fresh {
		t.notice = "unsubscribe_list"
	}
	t.say(content.TextUnsubList)
	bs := make([]rawButton, 0, len(t.s.Subs)+3)
	listed := map[string]bool{}
	// In the menu's order; a topic no longer in the content still gets
	// its button (by name), so that it can be stopped.
	for _, name := range append(t.topicOrder(), t.s.Subs...) {
		if t.subscribed(name) && !listed[name] {
			listed[name] = true
			bs = append(bs, rawButton{t.topicTitle(name), "unsub:" + name})
		}
	}
	bs = append(bs, t.sys(content.TextUnsubAll, "unsub:"))
	t.keyboardRaw(append(bs, t.backButtons()...))
}

// unsubscribeAll stops every subscription.
func (t *turn) unsubscribeAll() {
	t.s.Subs = nil
	t.fx = append(t.fx, Effect{Kind: EffectUnsubscribe})
	t.notice = "unsubscribed_all"
	t.say(content.TextUnsubAllDone)
	t.keyboardRaw(append([]rawButton{t.sys(content.TextSubChoose, "subl:")}, t.backButtons()...))
}

// backButtons lead back to where the person was (when that is not the
// main menu) and to the main menu.
func (t *turn) backButtons() []rawButton {
	menu := t.sys(content.TextMenuButton, "act:menu")
	if st := t.current(); st != nil && t.s.Flow != content.HomeFlow {
		return []rawButton{t.sys(content.TextBackButton, "back:"), menu}
	}
	return []rawButton{menu}
}

// mark puts a sign before a label, or after it in a right-to-left
// language (where a label must start with a letter of its script).
func (t *turn) mark(sign, label string) string {
	if l, ok := t.c.Language(t.s.Lang); ok && l.RTL {
		return label + " " + sign
	}
	return sign + " " + label
}

// rawButton is a button whose label is already text (a topic's title),
// not a message ID.
type rawButton struct{ text, target string }

// sys is a button labelled with a system text.
func (t *turn) sys(id, target string) rawButton { return rawButton{t.text(id), target} }
