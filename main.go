// Command putokaz is a public-information and referral chatbot for migrants
// in Serbia. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"putokaz/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], app.OSEnv())
	stop()
	os.Exit(code)
}
