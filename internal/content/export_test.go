package content

import "putokaz/internal/textnorm"

func fold(s string) string { return textnorm.Fold(s) }
