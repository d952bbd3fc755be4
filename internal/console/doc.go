// Package console is the supervisors' web console: the people who run the
// service see every waiting and open case of their staff groups, a case's
// history, act on cases (claim, note, close — through package referral, so
// the Telegram card and topic change too), read a report without personal
// data and the audit log. `putokaz serve` serves it on its own address when
// console.enabled is set (internal/app/console.go).
//
// Files, one concern each:
//
//	console.go   Options, routes, security headers, sessions in requests
//	             (membership re-check, CSRF), sign-in and sign-out
//	login.go     Telegram Login: the widget's signed data, verified as
//	             Telegram documents
//	session.go   sessions (Redis, memory): only the cookie's hash is stored
//	audit.go     the audit log (a Redis stream trimmed to its retention)
//	limit.go     sign-in rate limit in one process (MemorySessions; Redis: session.go); trusted proxies
//	views.go     the waiting list, cases with filters, a case, actions,
//	             the audit page
//	report.go    counts and times per week, service, language, outcome;
//	             the CSV
//	texts.go     English and Serbian (Cyrillic; Latin made from it)
//	templates/   html/template pages; static/ the style sheet
//
// Nothing it logs names a case, a person or a staff member; the audit log
// names staff by their Telegram user ID and cases by code, never a text.
package console
