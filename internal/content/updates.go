package content

// Texts and checks that urgent updates (package announce) share with the
// rest of the content.

const (
	// TextUpdateHeader is the first line of an urgent update; {{.topic}} is
	// the title of the topic (flow) it concerns.
	TextUpdateHeader = "update.header"
	// TextUpdateFooter is its last line: how to stop such updates.
	TextUpdateFooter = "update.footer"
)

// CompareTranslation compares a translation with its source text the way the
// content check compares the texts in locales/ (see compare.go): problems are
// numbers, phone numbers, links, e-mails, /commands, variables, lines and
// list bullets that differ; formatting lists HTML tags used a different
// number of times. srcName names the source in the sentences ("English").
func CompareTranslation(src, tr, srcName string) (problems, formatting []string) {
	sf, tf := readFeatures(src, false), readFeatures(tr, false)
	return differences(sf, tf, srcName, compareOptions{}), tagDifferences(sf, tf, srcName)
}
