package bot

import (
	"strings"
	"testing"

	"github.com/go-telegram/bot/models"

	"putokaz/internal/engine"
)

func privMsg(m models.Message) *models.Update {
	m.Chat = models.Chat{ID: 5, Type: models.ChatTypePrivate}
	if m.From == nil {
		m.From = &models.User{ID: 5, LanguageCode: "fa"}
	}
	return &models.Update{ID: 1, Message: &m}
}

func TestClassifyMessages(t *testing.T) {
	staff := map[int64]bool{-100: true}
	for _, tc := range []struct {
		name string
		u    *models.Update
		act  action
		want engine.Input
	}{
		{"text", privMsg(models.Message{Text: "povratak"}), actConversation, engine.Input{Kind: engine.InText, Text: "povratak", LangHint: "fa"}},
		{"command", privMsg(models.Message{Text: "/start abc", Entities: cmdEntity(0, 6)}), actConversation,
			engine.Input{Kind: engine.InCommand, Command: "start", Arg: "abc", LangHint: "fa"}},
		{"venue", privMsg(models.Message{Venue: &models.Venue{Location: models.Location{Latitude: 1, Longitude: 2}}}), actConversation,
			engine.Input{Kind: engine.InLocation, Lat: 1, Lon: 2, LangHint: "fa"}},
		{"animation before document", privMsg(models.Message{Animation: &models.Animation{}, Document: &models.Document{}}), actConversation,
			engine.Input{Kind: engine.InMedia, Media: "animation", LangHint: "fa"}},
		{"document with caption", privMsg(models.Message{Document: &models.Document{}, Caption: "cv"}), actConversation,
			engine.Input{Kind: engine.InMedia, Media: "document", Text: "cv", LangHint: "fa"}},
		{"video note", privMsg(models.Message{VideoNote: &models.VideoNote{}}), actConversation,
			engine.Input{Kind: engine.InMedia, Media: "video_note", LangHint: "fa"}},
		{"audio", privMsg(models.Message{Audio: &models.Audio{}}), actConversation,
			engine.Input{Kind: engine.InMedia, Media: "audio", LangHint: "fa"}},
		{"video", privMsg(models.Message{Video: &models.Video{}}), actConversation,
			engine.Input{Kind: engine.InMedia, Media: "video", LangHint: "fa"}},
		{"poll", privMsg(models.Message{Poll: &models.Poll{}}), actConversation,
			engine.Input{Kind: engine.InMedia, Media: "unsupported", LangHint: "fa"}},
		{"reply", privMsg(models.Message{Text: "yes", ReplyToMessage: &models.Message{ID: 77}}), actConversation,
			engine.Input{Kind: engine.InText, Text: "yes", ReplyTo: 77, LangHint: "fa"}},
		{"service message", privMsg(models.Message{NewChatTitle: "x"}), actIgnore, engine.Input{LangHint: "fa"}},
		{"from a bot", privMsg(models.Message{Text: "x", From: &models.User{ID: 5, IsBot: true}}), actIgnore, engine.Input{}},
		{"sender is not the chat", privMsg(models.Message{Text: "x", From: &models.User{ID: 6}}), actIgnore, engine.Input{}},
		{"no sender id", privMsg(models.Message{Text: "x", From: &models.User{}}), actIgnore, engine.Input{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := classify(tc.u, staff, "PutokazBot")
			if tc.act == actConversation {
				// What the input came from travels with it (update 1, chat 5).
				tc.want.Origin = engine.Origin{Chat: 5, Delivery: "1"}
			}
			if in.act != tc.act || in.input != tc.want || in.chatID != 5 {
				t.Errorf("got act %v input %+v chat %d; want act %v input %+v", in.act, in.input, in.chatID, tc.act, tc.want)
			}
		})
	}
}

func TestClassifyOther(t *testing.T) {
	staff := map[int64]bool{-100: true}
	group := func(id int64) *models.Update {
		return &models.Update{ID: 1, Message: &models.Message{Text: "x", Chat: models.Chat{ID: id, Type: models.ChatTypeSupergroup},
			From: &models.User{ID: 9}}}
	}
	if in := classify(group(-100), staff, ""); in.act != actStaff || in.chatID != -100 {
		t.Errorf("staff group: %+v", in)
	}
	if in := classify(group(-200), staff, ""); in.act != actIgnore || in.ignoreWhy != "ignored" {
		t.Errorf("other group: %+v", in)
	}
	cb := &models.Update{CallbackQuery: &models.CallbackQuery{ID: "q", From: models.User{ID: 9}, Data: "claim",
		Message: models.MaybeInaccessibleMessage{Message: &models.Message{Chat: models.Chat{ID: -100, Type: models.ChatTypeSupergroup}}}}}
	if in := classify(cb, staff, ""); in.act != actStaff || in.callbackID != "q" {
		t.Errorf("staff callback: %+v", in)
	}
	inline := &models.Update{CallbackQuery: &models.CallbackQuery{ID: "q2", InlineMessageID: "im", Data: "x"}}
	if in := classify(inline, staff, ""); in.act != actIgnore || in.callbackID != "q2" {
		t.Errorf("inline callback: %+v", in)
	}
	game := &models.Update{CallbackQuery: &models.CallbackQuery{ID: "q3", GameShortName: "g",
		Message: models.MaybeInaccessibleMessage{Message: &models.Message{Chat: models.Chat{ID: 5, Type: models.ChatTypePrivate}}}}}
	if in := classify(game, staff, ""); in.act != actIgnore || in.callbackID != "q3" {
		t.Errorf("callback without data: %+v", in)
	}
	for typ, u := range map[string]*models.Update{
		"inline_query": {InlineQuery: &models.InlineQuery{}},
		"poll":         {PollAnswer: &models.PollAnswer{}},
		"reaction":     {MessageReaction: &models.MessageReactionUpdated{}},
		"chat_member":  {ChatMember: &models.ChatMemberUpdated{}},
		"unknown":      {},
	} {
		if in := classify(u, staff, ""); in.act != actIgnore || in.typ != typ {
			t.Errorf("%s: %+v", typ, in)
		}
	}
}

func TestCapText(t *testing.T) {
	s := strings.Repeat("ж", 5000)
	if got := capText(s); len([]rune(got)) != maxInputText {
		t.Errorf("capped to %d runes", len([]rune(got)))
	}
	if got := capText(strings.Repeat("a", 4096)); len(got) != 4096 {
		t.Errorf("4096 ASCII changed to %d", len(got))
	}
	if got := capText("short"); got != "short" {
		t.Error(got)
	}
}

func TestDecodeUpdateLenient(t *testing.T) {
	// A chat member status the library does not know yet.
	raw := `{"update_id":9,"callback_query":{"id":"q","from":{"id":5,"is_bot":false,"first_name":"A"},` +
		`"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"forward_origin":{"type":"future","date":1}},"data":"d"}}`
	u, lenient, err := decodeUpdate([]byte(raw))
	if err != nil || !lenient || u.ID != 9 || u.CallbackQuery == nil || u.CallbackQuery.Data != "d" {
		t.Fatalf("decode = %+v %v %v", u, lenient, err)
	}
	in := classify(u, nil, "")
	if in.act != actConversation || in.chatID != 5 || in.callbackID != "q" {
		t.Errorf("classify = %+v", in)
	}
	raw = `{"update_id":10,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},` +
		`"text":"/help","entities":[{"type":"bot_command","offset":0,"length":5}],"forward_origin":{"type":"future","date":1}}}`
	u, lenient, err = decodeUpdate([]byte(raw))
	if err != nil || !lenient {
		t.Fatalf("decode = %v %v", lenient, err)
	}
	if in := classify(u, nil, ""); in.input.Kind != engine.InCommand || in.input.Command != "help" {
		t.Errorf("classify = %+v", in.input)
	}
	if _, _, err := decodeUpdate([]byte(`{"x":1}`)); err == nil {
		t.Error("no update_id accepted")
	}
}
