package engine

import "testing"

func TestDropAddressLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"<b>Sjenica</b> – about 174 km\n" + noAddress + "\nTown on the map", "<b>Sjenica</b> – about 174 km\nTown on the map"},
		{"مركز Sjenica\nالعنوان: " + noAddress + "\nالخريطة", "مركز Sjenica\nالخريطة"},        // the label goes too
		{"<b>Sjenica</b>, " + noAddress + " – 174 km\nmap", "<b>Sjenica</b>,  – 174 km\nmap"}, // the name's line stays
		{"<b>Krnjača</b>\nPalilula, Beograd\nmap", "<b>Krnjača</b>\nPalilula, Beograd\nmap"},
	} {
		if got := dropAddressLine(c.in, "Sjenica"); got != c.want {
			t.Errorf("dropAddressLine(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
