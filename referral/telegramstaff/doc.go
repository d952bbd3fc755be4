// Package telegramstaff is the referral desk's Telegram side: it shows
// cases in Telegram staff groups and turns what staff do there into desk
// actions. The referral core (package referral) knows no Telegram; the app
// wires this package to both the desk and the transport (bot).
//
//   - staff.go — Staff implements referral.Staff through bot.Sender: a forum
//     topic per case, cards with Claim/Close buttons, copies of what the
//     person sent, staff replies copied to the person; go-telegram's errors
//     mapped to the core's (referral.ErrRejected, ...), and the outbox's
//     sends put in the staff lane (an emergency alert in the emergency lane).
//   - handler.go — Handler implements bot.StaffHandler: card buttons, /claim,
//     /close, /note, /help, /waiting, and anything else written in a case's
//     topic relayed to its person, for members of the case's group only.
//   - membership.go — Membership: whether a Telegram user belongs to a staff
//     group (getChatMember, briefly cached), for the handler and the console.
//   - lock.go — Lock: a referral.PersonLock over the transport's per-chat
//     lease, so that a staff event shown to a person and their own update
//     never overwrite each other's session.
package telegramstaff
