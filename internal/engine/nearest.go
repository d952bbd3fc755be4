package engine

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"putokaz/internal/content"
	"putokaz/internal/textnorm"
)

// nearest lists the active places of the step's kinds nearest to the
// location the person shared, with distance, address and a map link.
func (t *turn) nearest(st *content.Step) {
	t.sayAll(st.Say, nil)
	lat, lon, ok := parseLocation(t.s.Vars[st.From])
	type hit struct {
		p content.Place
		d float64
	}
	var hits []hit
	for _, p := range t.c.Directory.Places {
		if p.Active && slices.ContainsFunc(p.Kinds, func(k string) bool { return slices.Contains(st.Nearest, k) }) {
			d := -1.0
			if ok {
				d = haversineKm(lat, lon, p.Lat, p.Lon)
			}
			hits = append(hits, hit{p, d})
		}
	}
	if !ok {
		t.say(content.TextNearestNone)
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.d != b.d {
			return int(math.Copysign(1, a.d-b.d))
		}
		return strings.Compare(a.p.Name, b.p.Name)
	})
	if ok && len(hits) > st.Limit {
		hits = hits[:st.Limit]
	}
	items := make([]string, 0, len(hits))
	cyr := readsSerbianCyrillic(t.s.Lang)
	for _, h := range hits {
		name, address := h.p.Name, h.p.Address
		if strings.EqualFold(strings.TrimSpace(address), strings.TrimSpace(name)) {
			address = "" // a centre known by its town: the name says it
		}
		if cyr { // the directory writes places in Latin, as on most signs
			name, address = textnorm.LatToCyr(name), textnorm.LatToCyr(address)
		}
		vars := map[string]string{
			"name":     isolateIfRTL(t.c, t.s.Lang, name),
			"address":  noAddress,
			"distance": isolateIfRTL(t.c, t.s.Lang, formatDistance(h.d)),
			"map": "https://www.openstreetmap.org/?mlat=" + strconv.FormatFloat(h.p.Lat, 'f', 5, 64) +
				"&mlon=" + strconv.FormatFloat(h.p.Lon, 'f', 5, 64) + "#map=15/" +
				strconv.FormatFloat(h.p.Lat, 'f', 5, 64) + "/" + strconv.FormatFloat(h.p.Lon, 'f', 5, 64),
		}
		if address != "" {
			vars["address"] = isolateIfRTL(t.c, t.s.Lang, address)
		}
		items = append(items, dropAddressLine(t.e.render(t.c, t.s.Lang, st.Item, vars, nil), vars["name"]))
	}
	if len(items) > 0 {
		t.out = append(t.out, Message{Text: strings.Join(items, "\n\n"), Lang: t.s.Lang})
	}
	t.stepKeyboard(st)
}

// readsSerbianCyrillic reports a Serbian language tag written in Cyrillic
// (sr-Cyrl, or sr, whose default script is Cyrillic).
func readsSerbianCyrillic(tag string) bool {
	t, err := language.Parse(tag)
	if err != nil {
		return false
	}
	base, _ := t.Base()
	script, _ := t.Script()
	return base.String() == "sr" && script.String() == "Cyrl"
}

func parseLocation(s string) (float64, float64, bool) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, false
	}
	lat, err1 := strconv.ParseFloat(a, 64)
	lon, err2 := strconv.ParseFloat(b, 64)
	return lat, lon, err1 == nil && err2 == nil
}

// haversineKm is the great-circle distance, good to a few metres here.
func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

func formatDistance(km float64) string {
	switch {
	case km < 0:
		return ""
	case km < 1:
		return "< 1 km" // centre coordinates are town-level: metres would be false precision
	case km < 10:
		return strconv.FormatFloat(km, 'f', 1, 64) + " km"
	}
	return strconv.Itoa(int(math.Round(km))) + " km"
}

// noAddress stands for the address of a place known by its town alone: the
// line that would show it (with its label, in any language) is left out,
// unless a translation put the name on that line too.
const noAddress = "\x00address\x00"

func dropAddressLine(s, name string) string {
	if !strings.Contains(s, noAddress) {
		return s
	}
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		switch {
		case !strings.Contains(l, noAddress):
			out = append(out, l)
		case strings.Contains(l, name):
			out = append(out, strings.ReplaceAll(l, noAddress, ""))
		}
	}
	return strings.Join(out, "\n")
}
