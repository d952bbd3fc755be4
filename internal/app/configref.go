package app

import (
	"context"
	"fmt"
	"text/tabwriter"

	"putokaz/internal/config"
)

// configRef prints the configuration reference from the code itself, so it
// cannot drift from what is read.
func configRef(_ context.Context, env Env, _ []string) int {
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tENVIRONMENT\tDEFAULT\tMEANING")
	for _, s := range config.Settings() {
		def := s.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Key, s.Env, def, s.Doc)
	}
	w.Flush()
	return 0
}
