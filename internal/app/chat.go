package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"putokaz/internal/config"
	"putokaz/internal/content"
	"putokaz/internal/conversation"
	"putokaz/internal/engine"
	"putokaz/internal/store"
	"putokaz/internal/subscribe"
	"putokaz/internal/terminal"
)

// chatCmd runs the engine in the terminal on the in-memory store.
func chatCmd(ctx context.Context, env Env, args []string) int {
	fs := newFlags("chat", env)
	lang := fs.String("lang", "", "start in this language (en, sr-Cyrl, sr-Latn, ar, fa) instead of the picker")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, diags := engine.Load(contentSource(fs.Arg(0)))
	if c == nil {
		for _, d := range diags.Errors() {
			fmt.Fprintln(env.Stderr, d)
		}
		fmt.Fprintln(env.Stderr, "putokaz chat: the content has errors; run `putokaz check` for details")
		return 1
	}
	if *lang != "" {
		if _, ok := c.Language(*lang); !ok {
			fmt.Fprintf(env.Stderr, "putokaz chat: unknown language %q\n", *lang)
			return 2
		}
	}
	mem, err := store.NewMemory(24*time.Hour, time.Now)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz chat:", err)
		return 1
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	staff := terminal.NewLocalStaff(env.Stdout)
	// The organisation the texts name, from config.yaml and the environment
	// as for serve; a broken file only loses the name, not the chat.
	cfg, err := config.Load("", env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz chat:", err)
		cfg = config.Default()
	}
	subs := subscribe.NewHandler(subscribe.NewMemory(subscribe.DefaultTTL, time.Now), staff)
	conv := conversation.New(mem, newEngine(cfg.Organisation), content.NewHolder(c), subs, log)
	conv.Statuses = staff
	conv.Subscriptions = subs
	opt := terminal.Options{Lang: *lang, Referrals: staff}
	if env.Interactive {
		fmt.Fprintln(env.Stdout, "Putokaz chat — type a number to press a button, /command, @LAT,LON to share a location,")
		fmt.Fprintln(env.Stdout, "!photo to send a photo, !claim / !close to act as staff in a handoff, !write TEXT / !closecase")
		fmt.Fprintln(env.Stdout, "as staff of your newest referral; Ctrl-D to quit.")
		opt.Prompt = "> "
	}
	if err := terminal.Run(ctx, env.Stdin, env.Stdout, conv, opt); err != nil {
		fmt.Fprintln(env.Stderr, "putokaz chat:", err)
		return 1
	}
	return 0
}
