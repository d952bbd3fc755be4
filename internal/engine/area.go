package engine

// serviceArea is a rough outline of the area the directory's services and
// the numbers in the texts (192, 193, 194, the help lines) cover: Serbia,
// where Serbian institutions work — so without Kosovo, where these numbers
// and centres do not serve people. It is a service area, not a statement
// about borders.
//
// The outline follows the borders to about 20 km (drawn by hand from town
// coordinates along the Danube, Drina and land borders), so a location close
// to a border may land on the wrong side; it only decides whether a person
// is told "these services are in Serbia; call 112 where you are" or shown
// the nearest places. Every active place of the directory lies inside
// (TestServiceAreaHoldsPlaces). Points are latitude, longitude, clockwise
// from the north.
var serviceArea = [][2]float64{
	{46.19, 19.66}, // Hungarian border north of Subotica
	{46.15, 20.26}, // Hungary–Romania–Serbia
	{45.75, 20.65}, // Banat, Romanian border
	{45.45, 20.95},
	{45.15, 21.55}, // east of Vršac
	{44.78, 21.40}, // the Danube below Bela Crkva
	{44.65, 21.90},
	{44.70, 22.45}, // the Iron Gates
	{44.65, 22.70}, // Kladovo
	{44.20, 22.70}, // the Timok: Romania–Bulgaria–Serbia
	{43.60, 22.55}, // Bulgarian border by Knjaževac
	{43.00, 22.88}, // by Dimitrovgrad
	{42.50, 22.55}, // by Bosilegrad
	{42.30, 22.36}, // Bulgaria–North Macedonia–Serbia
	{42.24, 21.56}, // south of Preševo
	{42.45, 21.58}, // the line with Kosovo, west of Bujanovac
	{42.80, 21.50}, // west of Medveđa
	{43.05, 21.30}, // south-west of Kuršumlija
	{43.27, 20.80}, // Kopaonik
	{43.00, 20.55}, // south of Novi Pazar
	{42.88, 20.33}, // south of Tutin
	{43.00, 20.10}, // Montenegrin border west of Tutin
	{43.20, 19.75}, // west of Sjenica
	{43.35, 19.30}, // by Prijepolje and Priboj
	{43.60, 19.22},
	{44.00, 19.45}, // the Drina by Bajina Bašta
	{44.50, 19.10}, // by Loznica and Banja Koviljača
	{44.55, 19.20},
	{44.80, 19.32}, // the Drina east of Bijeljina
	{44.88, 19.38}, // the Drina's mouth: the Sava westwards
	{44.86, 19.05}, // Bosnia and Herzegovina–Croatia–Serbia
	{45.10, 19.10}, // Croatian border west of Šid
	{45.25, 19.40}, // the Danube by Bačka Palanka
	{45.55, 19.00},
	{45.93, 18.82}, // Croatia–Hungary–Serbia
}

// inServiceArea reports whether a location lies inside serviceArea
// (ray casting: a ray from the point crosses the outline an odd number of
// times).
func inServiceArea(lat, lon float64) bool {
	in := false
	n := len(serviceArea)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := serviceArea[i], serviceArea[j]
		if (a[1] > lon) != (b[1] > lon) {
			crossLat := a[0] + (lon-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if lat < crossLat {
				in = !in
			}
		}
	}
	return in
}
