// Package flows holds the default conversation flows, embedded in the binary.
// Editors change the YAML files beside this one; see CONTENT.md.
package flows

import "embed"

// FS holds every flow file.
//
//go:embed *.yaml
var FS embed.FS
