package engine

import (
	"testing"

	"putokaz/internal/content"
)

// TestServiceAreaHoldsPlaces: every active place of the default directory
// lies inside the service area, or a person standing there would be told
// the services are elsewhere.
func TestServiceAreaHoldsPlaces(t *testing.T) {
	c, diags := content.Load(content.Embedded())
	if c == nil {
		t.Fatalf("default content: %v", diags)
	}
	for _, p := range c.Directory.Places {
		if p.Active && !inServiceArea(p.Lat, p.Lon) {
			t.Errorf("place %s (%.2f, %.2f) is outside the service area", p.ID, p.Lat, p.Lon)
		}
	}
}

func TestServiceArea(t *testing.T) {
	inside := map[string][2]float64{
		"Belgrade": {44.81, 20.46}, "Novi Sad": {45.25, 19.84}, "Niš": {43.32, 21.90}, "Subotica": {46.10, 19.67},
		"Kragujevac": {44.01, 20.91}, "Vranje": {42.55, 21.90}, "Novi Pazar": {43.14, 20.51}, "Zaječar": {43.90, 22.28},
		"Kladovo": {44.61, 22.61}, "Loznica": {44.53, 19.22}, "Šid": {45.13, 19.23}, "Sombor": {45.77, 19.11},
		"Kikinda": {45.83, 20.46}, "Vršac": {45.12, 21.30}, "Dimitrovgrad": {43.01, 22.78}, "Preševo": {42.31, 21.65},
		"Bujanovac": {42.46, 21.77}, "Tutin": {42.99, 20.34}, "Prijepolje": {43.39, 19.65}, "Užice": {43.86, 19.84},
	}
	outside := map[string][2]float64{
		"Vienna": {48.21, 16.37}, "Budapest": {47.50, 19.04}, "Zagreb": {45.81, 15.98}, "Sarajevo": {43.86, 18.41},
		"Sofia": {42.70, 23.32}, "Skopje": {42.00, 21.43}, "Timișoara": {45.75, 21.23}, "Pristina": {42.66, 21.16},
		"Peć": {42.66, 20.29}, "Podgorica": {42.44, 19.26}, "Osijek": {45.55, 18.69}, "Vukovar": {45.35, 19.00},
		"Bijeljina": {44.76, 19.21}, "Vidin": {43.99, 22.88}, "Athens": {37.98, 23.73}, "Kabul": {34.53, 69.17},
		"null island": {0, 0},
	}
	for name, p := range inside {
		if !inServiceArea(p[0], p[1]) {
			t.Errorf("%s should be inside", name)
		}
	}
	for name, p := range outside {
		if inServiceArea(p[0], p[1]) {
			t.Errorf("%s should be outside", name)
		}
	}
}
