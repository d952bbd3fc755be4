// Package terminal is the terminal transport: it lets editors and tests talk to
// the engine line by line, exactly as a person would on Telegram.
package terminal

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"regexp"
	"strconv"
	"strings"

	"putokaz/internal/engine"
)

// Conversation is what the terminal needs from the conversation core.
type Conversation interface {
	Handle(ctx context.Context, user string, in engine.Input) ([]engine.Message, error)
}

// Options configure a terminal session.
type Options struct {
	// Lang preselects a language (skips the picker).
	Lang string
	// User is the person's ID in the store.
	User string
	// Prompt is printed before each input (interactive use).
	Prompt string
	// Echo prints each input line (transcripts).
	Echo bool
	// Referrals, if set, names the person's newest referral, so that
	// "!write TEXT" and "!closecase" can act as its staff (LocalStaff).
	Referrals ReferralLookup
}

// ReferralLookup names a person's newest referral (code, service; "" none).
type ReferralLookup interface {
	LastReferral(user string) (code, service string)
}

// Run reads input lines until EOF: a number presses that button of the last
// message with buttons, "/word" is a command, "@LAT,LON" shares a location,
// "!photo" (sticker, voice, document, edited, ...) sends that kind of
// message, "!claim" and "!close" are what staff do in a handoff, "!write
// TEXT" and "!closecase" what staff do about the newest referral, anything
// else is typed text.
func Run(ctx context.Context, r io.Reader, w io.Writer, conv Conversation, opt Options) error {
	if opt.User == "" {
		opt.User = "chat:local"
	}
	c := &session{w: w, conv: conv, user: opt.User, refs: opt.Referrals}
	first := engine.Input{Kind: engine.InCommand, Command: "start"}
	if opt.Lang != "" {
		first = engine.Input{Kind: engine.InButton, Data: "L:" + opt.Lang}
	}
	if err := c.send(ctx, first); err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for {
		if opt.Prompt != "" {
			fmt.Fprint(w, opt.Prompt)
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "# ") {
			continue // blank lines and "# comments" (as in transcript files)
		}
		if opt.Echo {
			fmt.Fprintf(w, "> %s\n", line)
		}
		in, note := c.parse(line)
		if note != "" {
			fmt.Fprintln(w, note)
			continue
		}
		if err := c.send(ctx, in); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	return nil
}

type session struct {
	w       io.Writer
	conv    Conversation
	user    string
	buttons []engine.Button
	locReq  bool
	refs    ReferralLookup
}

var locationRe = regexp.MustCompile(`^@\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$`)

// parse turns a typed line into an input, or returns a note for the user.
func (c *session) parse(line string) (engine.Input, string) {
	t := strings.TrimSpace(line)
	if n, err := strconv.Atoi(t); err == nil && len(c.buttons) > 0 {
		if n < 1 || n > len(c.buttons) {
			return engine.Input{}, fmt.Sprintf("(no button %d; press 1 to %d)", n, len(c.buttons))
		}
		b := c.buttons[n-1]
		if b.URL != "" {
			return engine.Input{}, "(a link: " + b.URL + ")"
		}
		return engine.Input{Kind: engine.InButton, Data: b.Data}, ""
	}
	if m := locationRe.FindStringSubmatch(t); m != nil {
		lat, _ := strconv.ParseFloat(m[1], 64)
		lon, _ := strconv.ParseFloat(m[2], 64)
		if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return engine.Input{}, "(a location is @LAT,LON with latitude -90..90 and longitude -180..180)"
		}
		return engine.Input{Kind: engine.InLocation, Lat: lat, Lon: lon}, ""
	}
	if cmd, ok := strings.CutPrefix(t, "/"); ok && cmd != "" {
		name, arg, _ := strings.Cut(cmd, " ")
		name, _, _ = strings.Cut(name, "@")
		return engine.Input{Kind: engine.InCommand, Command: strings.ToLower(name), Arg: strings.TrimSpace(arg)}, ""
	}
	if media, ok := strings.CutPrefix(t, "!"); ok && isMediaKind(media) {
		return engine.Input{Kind: engine.InMedia, Media: media}, ""
	}
	// What staff do, so an editor can walk a whole handoff alone.
	switch t {
	case "!claim":
		return engine.Input{Kind: engine.InEvent, Event: engine.EventHandoffClaimed}, ""
	case "!close":
		return engine.Input{Kind: engine.InEvent, Event: engine.EventHandoffClosed}, ""
	}
	if text, ok := strings.CutPrefix(t, "!write "); ok || t == "!closecase" {
		code, service := "", ""
		if c.refs != nil {
			code, service = c.refs.LastReferral(c.user)
		}
		if code == "" {
			return engine.Input{}, "(no referral was made in this chat yet)"
		}
		if t == "!closecase" {
			fmt.Fprintf(c.w, "  ── staff close %s\n\n", code)
			return engine.Input{Kind: engine.InEvent, Event: engine.EventCaseClosed, Case: code, CaseService: service}, ""
		}
		// Telegram shows it under a line naming the service and the case.
		fmt.Fprintf(c.w, "  💬 staff about %s: %s\n\n", code, strings.TrimSpace(text))
		return engine.Input{Kind: engine.InEvent, Event: engine.EventCaseMessage, Case: code, CaseService: service}, ""
	}
	return engine.Input{Kind: engine.InText, Text: line}, ""
}

// isMediaKind lets a transcript send "!sticker", "!photo", ... as Telegram would.
func isMediaKind(s string) bool {
	switch s {
	case "photo", "sticker", "voice", "document", "video", "audio", "animation", "video_note", "edited":
		return true
	}
	return false
}

func (c *session) send(ctx context.Context, in engine.Input) error {
	msgs, err := c.conv.Handle(ctx, c.user, in)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	for _, m := range msgs {
		c.print(m)
	}
	return nil
}

func (c *session) print(m engine.Message) {
	text := strings.TrimRight(Plain(m.Text), "\n")
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			fmt.Fprintln(c.w)
			continue
		}
		fmt.Fprintf(c.w, "  %s\n", line)
	}
	if len(m.Buttons) > 0 {
		c.buttons = m.Buttons
		for i, b := range m.Buttons {
			if b.URL != "" {
				fmt.Fprintf(c.w, "  [%d] %s (%s)\n", i+1, b.Label, b.URL)
			} else {
				fmt.Fprintf(c.w, "  [%d] %s\n", i+1, b.Label)
			}
		}
	}
	if m.RequestLocation {
		fmt.Fprintf(c.w, "  [@] %s (type @LAT,LON)\n", m.LocationLabel)
	}
	fmt.Fprintln(c.w)
}

var (
	linkRe = regexp.MustCompile(`(?s)<a\s+href="([^"]*)"\s*>(.*?)</a>`)
	tagRe  = regexp.MustCompile(`</?(b|strong|i|em|u|ins|s|strike|del|code|pre|tg-spoiler|span|blockquote)(\s[^>]*)?>`)
)

// Plain renders Telegram HTML for a terminal: tags dropped, links shown
// with their address, entities decoded.
func Plain(s string) string {
	s = linkRe.ReplaceAllString(s, "$2 ($1)")
	s = tagRe.ReplaceAllString(s, "")
	return html.UnescapeString(s)
}
