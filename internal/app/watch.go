package app

import (
	"context"
	"log/slog"

	"putokaz/internal/content"
	"putokaz/internal/reload"
	"putokaz/referral"
)

// watchContent hot-reloads a content folder into holder while ctx lives
// (file changes and SIGHUP); folder "" is the built-in content, which never
// reloads, so SIGHUP is only logged — a habitual `kill -HUP` must not stop
// the bot (Go's default). It returns the Reloader (nil when not watching)
// and a stop function to defer.
func watchContent(ctx context.Context, folder string, holder *content.Holder, load func() (*content.Content, content.Diags),
	start content.Diags, log *slog.Logger) (*reload.Reloader, func(), error) {
	hup, stopHUP := reload.NotifyHUP()
	if folder == "" {
		go ignoreHUP(ctx, hup, log)
		return nil, stopHUP, nil
	}
	r, err := reload.New(reload.Options{Dir: folder, Holder: holder, Load: load, Signals: hup, Log: log, StartProblems: start})
	if err != nil {
		stopHUP()
		return nil, nil, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	wait, err := r.Start(wctx)
	if err != nil {
		// Still useful without hot reload: a restart picks up edits.
		log.Warn("hot reload is off: the content folder cannot be watched", "err", err)
		stopWatch()
		go ignoreHUP(ctx, hup, log)
		return nil, stopHUP, nil
	}
	return r, func() { stopWatch(); wait(); stopHUP() }, nil
}

// startOutbox runs the referral outbox beside the server, telling people
// what staff did through conv, and returns the function that stops it. It
// is not stopped by ctx (the server's shutdown signal) but by that
// function, deferred to run after the server has drained, so staff actions
// in flight still get their deliveries queued.
func startOutbox(ctx context.Context, refs *referral.Desk, conv referral.Conversation) func() {
	octx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = refs.Run(octx, conv)
	}()
	return func() {
		stop()
		<-done
	}
}
