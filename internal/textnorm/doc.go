// Package textnorm holds the small pieces of Unicode handling the bot needs
// for its five languages (English, Serbian in both scripts, Arabic,
// Farsi/Dari), one concern per file:
//
//   - translit.go: Serbian Cyrillic↔Latin transliteration (CyrToLat, LatToCyr);
//   - fold.go: folding typed text for matching (Fold);
//   - direction.go: paragraph direction and bidi isolation (FirstStrongIsRTL,
//     StartsWithArabicLetter, Isolate);
//   - utf16.go: Telegram's UTF-16 length (UTF16Len).
package textnorm
