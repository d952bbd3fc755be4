// Package locales holds the default texts in every language (go-i18n message
// files) and the list of languages, embedded in the binary.
package locales

import "embed"

// FS holds languages.yaml and every active.<lang>.yaml file.
//
//go:embed *.yaml
var FS embed.FS
