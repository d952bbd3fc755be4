// Package app holds putokaz's subcommands; main only calls Main.
package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Env is what a subcommand may touch of the outside world, so that tests can
// run subcommands in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Interactive is true when Stdin is a terminal.
	Interactive bool
}

type command struct {
	name, args, help string
	run              func(ctx context.Context, env Env, args []string) int
}

func commands() []command {
	return []command{
		{"serve", "", "run the bot (Telegram with TELEGRAM_TOKEN, else the local playground)", serve},
		{"check", "[DIR | FILE]", "check flows, texts and update files (or one); print every problem as file:line:col", check},
		{"chat", "[--lang TAG] [DIR]", "talk to the bot in this terminal (in-memory store)", chatCmd},
		{"eval", "[--sets DIR] [DIR]", "hit rate of typed-text understanding on the labelled phrasings", evalCmd},
		{"graph", "[--lang TAG] [FLOW]", "print the flows (or one) as a Mermaid diagram", graphCmd},
		{"stats", "[--days N]", "summary of the anonymous usage statistics kept in Redis", statsCmd},
		{"translate", "[export LANG | import FILE | review [--stamp LANG]]", "translation coverage and back-translations; files with only what a language lacks", translateCmd},
		{"config", "", "print every configuration key, its environment variable and default", configRef},
		{"loadtest", "[flags]", loadtestUsage, loadtestCmd},
		{"announce", "FILE | CMD [ID]", "urgent updates to the people subscribed to a topic (--help)", announceCmd},
	}
}

// Main runs a subcommand and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		usage(env.Stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, env, args)
		}
	}
	fmt.Fprintf(env.Stderr, "putokaz: unknown command %q\n\n", name)
	usage(env.Stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: putokaz [command] [arguments]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %-20s %s\n", c.name, c.args, c.help)
	}
	fmt.Fprintln(w, "\nWith no command, putokaz serves.")
}

func newFlags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// OSEnv is the real process environment.
func OSEnv() Env {
	interactive := false
	if st, err := os.Stdin.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		interactive = true
	}
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Interactive: interactive}
}
