package adapter_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/whatalo-wazion/whatalo-wazion/adapter"
	"github.com/whatalo-wazion/whatalo-wazion/wazion"
)

// TestInternalNotesStayOutOfTheAIText: an order's internal notes are the
// store's words, not for the customer, and WAzion's AI writes to the
// customer. By default they show in the panel marked as internal and never
// in the AI text; none hides them; panel_and_ai lets them into both.
func TestInternalNotesStayOutOfTheAIText(t *testing.T) {
	const internal = "Cancelado por la clienta: pidió otro color." // order #1002's internal_notes
	tests := []struct {
		setting       adapter.InternalNotes
		panel, aiText string // "" when the note must not appear
	}{
		{"", "Nota interna: " + internal, ""},
		{adapter.InternalNotesPanel, "Nota interna: " + internal, ""},
		{adapter.InternalNotesNone, "", ""},
		{adapter.InternalNotesPanelAndAI, "Nota interna: " + internal, "Nota interna: " + internal},
	}
	for _, tt := range tests {
		t.Run(string(tt.setting), func(t *testing.T) {
			d := newDemo(t, func(o *adapter.Options) { o.InternalNotes = tt.setting })
			panel := d.get(t, wazion.EndpointCustomerInfo, url.Values{"phone": {"+18095551234"}})
			b, _ := json.Marshal(panel)
			checkNote(t, "panel", string(b), tt.panel, internal)
			ai := d.get(t, wazion.EndpointCustomerInitialInfo, url.Values{"phone": {"+18095551234"}, "order": {"1002"}})
			info, _ := ai["info"].(string)
			if info == "" {
				t.Fatalf("no AI text: %v", ai)
			}
			checkNote(t, "AI text", info, tt.aiText, internal)
		})
	}
}

func checkNote(t *testing.T, where, got, want, internal string) {
	t.Helper()
	switch {
	case want == "" && strings.Contains(got, internal):
		t.Errorf("%s shows the internal note: %s", where, got)
	case want != "" && !strings.Contains(got, want):
		t.Errorf("%s lacks %q: %s", where, want, got)
	}
}
