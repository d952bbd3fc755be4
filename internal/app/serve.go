package app

import (
	"context"
	"fmt"

	"putokaz/internal/config"
)

// serve runs the bot on Telegram. Without a Telegram token it runs the local
// web playground instead (playground.go).
func serve(ctx context.Context, env Env, args []string) int {
	fs := newFlags("serve", env)
	cfgPath := fs.String("config", "", "configuration file (default: config.yaml if present)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*cfgPath, env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "putokaz:", err)
		return 1
	}
	if cfg.Telegram.Token == "" {
		if cfg.Console.Enabled {
			fmt.Fprintln(env.Stderr, "putokaz: console.enabled is ignored without telegram.token: the console signs staff in with Telegram")
		}
		return servePlayground(ctx, env, cfg)
	}
	return serveTelegram(ctx, env, cfg)
}
