package adapter

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStripHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"plain text", "Camiseta de algodón", "Camiseta de algodón"},
		{"plain text keeps lines", "  Camiseta \r\n\t de   algodón  \n\n\nTalla M", "Camiseta\nde algodón\nTalla M"},
		{"newlines in HTML are spaces", "<p>Camiseta\nde\r\nalgodón</p>\n<p>Talla M</p>", "Camiseta de algodón\nTalla M"},
		{"inline tags", "<p>Camiseta <b>100%</b> <em>algodón</em></p>", "Camiseta 100% algodón"},
		{"adjacent inline", "<b>Hola</b><i>Mundo</i>", "HolaMundo"},
		{"entities", "<p>Caf&eacute; &amp; t&#233; &lt;3 &quot;ok&quot; &#x1F600;</p>", "Café & té <3 \"ok\" 😀"},
		{"nbsp collapsed", "a&nbsp;&nbsp; b", "a b"},
		{"br", "línea 1<br>línea 2<br/>línea 3", "línea 1\nlínea 2\nlínea 3"},
		{"paragraphs", "<p>Uno</p><p>Dos</p>", "Uno\nDos"},
		{"divs and headings", "<h2>Detalles</h2><div>Talla M</div><div>Color rojo</div>", "Detalles\nTalla M\nColor rojo"},
		{"list", "<p>Incluye:</p><ul><li>Cable</li><li> Cargador </li><li></li></ul>", "Incluye:\n- Cable\n- Cargador"},
		{"nested list", "<ul><li>A<ul><li>A1</li></ul></li><li>B</li></ul>", "- A\n- A1\n- B"},
		{"table", "<table><tr><td>Talla</td><td>M</td></tr><tr><td>Peso</td><td>1 kg</td></tr></table>", "Talla M\nPeso 1 kg"},
		{"script and style dropped", "<style>p{color:red}</style><p>Texto</p><script>alert('x<p>y')</script>fin", "Texto\nfin"},
		{"head dropped", "<html><head><title>T</title><meta charset=utf-8></head><body><p>Cuerpo</p></body></html>", "Cuerpo"},
		{"comments dropped", "a<!-- oculto -->b", "ab"},
		{"attributes ignored", `<a href="https://x.example/?a=1&b=2" title="t">enlace</a>`, "enlace"},
		{"img ignored", `<img src="x.png" alt="foto">texto`, "texto"},
		{"unclosed tags", "<p>uno<p>dos<div>tres", "uno\ndos\ntres"},
		{"stray end tags", "</div></script>texto</p>", "texto"},
		{"broken markup", "a < b y c > d", "a < b y c > d"},
		{"textarea markup not leaked", "<textarea><b>x</b></textarea>ok", "ok"},
		{"control characters", "a\x00b\x07c", "a b c"},
		{"invalid utf-8", "caf\xe9 <b>\xff\xfeok</b>", "caf ok"},
		{"multi-byte", "<p>日本語の<strong>説明</strong></p><p>Ελληνικά • ñandú</p>", "日本語の説明\nΕλληνικά • ñandú"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StripHTML(tt.in)
			if got != tt.want {
				t.Errorf("StripHTML(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("StripHTML(%q) is not valid UTF-8: %q", tt.in, got)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{"short enough", "hola", 10, "hola"},
		{"exact length", "hola", 4, "hola"},
		{"exact length multi-byte", "日本語", 3, "日本語"},
		{"zero", "hola", 0, ""},
		{"negative", "hola", -3, ""},
		{"one", "hola", 1, "…"},
		{"cut inside a long word", "abcdefghij", 5, "abcd…"},
		{"cut at a word boundary", "the quick brown fox jumps", 12, "the quick…"},
		{"space right after the cut", "the quick brown fox", 10, "the quick…"},
		{"boundary too far back", "a bcdefghijklmnopqrstuvwxyz", 12, "a bcdefghij…"},
		{"trailing punctuation trimmed", "uno, dos, tres, cuatro", 9, "uno, dos…"},
		{"multi-byte runes", "日本語のテキストです", 5, "日本語の…"},
		{"accents, word too far back", "camión ñandú árbol", 11, "camión ñan…"},
		{"accents, word close", "camión ñandú árbol", 15, "camión ñandú…"},
		{"emoji", "😀😀😀😀😀", 3, "😀😀…"},
		{"line breaks count as spaces", "uno dos\ntres cuatro", 13, "uno dos\ntres…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
			if tt.n >= 0 && utf8.RuneCountInString(got) > tt.n {
				t.Errorf("Truncate(%q, %d) = %q has %d runes", tt.in, tt.n, got, utf8.RuneCountInString(got))
			}
		})
	}
}

func TestTruncateLongText(t *testing.T) {
	text := strings.Repeat("Descripción con eñes y acentos. ", 100)
	for _, n := range []int{1, 2, 10, 100, 499, 500, 1500} {
		got := Truncate(text, n)
		if c := utf8.RuneCountInString(got); c > n {
			t.Errorf("Truncate(_, %d) has %d runes", n, c)
		}
		if !strings.HasSuffix(got, "…") {
			t.Errorf("Truncate(_, %d) = %q does not end in …", n, got)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Truncate(_, %d) is not valid UTF-8", n)
		}
		// Cut where room allows near the end, not far back.
		if n >= 100 && utf8.RuneCountInString(got) < n*4/5 {
			t.Errorf("Truncate(_, %d) kept only %d runes", n, utf8.RuneCountInString(got))
		}
	}
}

func FuzzStripHTML(f *testing.F) {
	for _, s := range []string{
		"<p>Hola &amp; adiós</p>", "<ul><li>a</li><li>b</li></ul>", "<script>x</script>y",
		"caf\xe9", "<br><br/><hr>", "<table><tr><td>1</td></tr></table>", "a\x00b", "&#0;&#xD800;",
	} {
		f.Add(s, 20)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := StripHTML(s)
		if !utf8.ValidString(got) {
			t.Fatalf("StripHTML(%q) = %q is not valid UTF-8", s, got)
		}
		if got != strings.TrimSpace(got) {
			t.Fatalf("StripHTML(%q) = %q is not trimmed", s, got)
		}
		if strings.Contains(got, "\n\n") || strings.Contains(got, "  ") {
			t.Fatalf("StripHTML(%q) = %q has uncollapsed whitespace", s, got)
		}
		n %= 1000
		cut := Truncate(got, n)
		if n <= 0 {
			if cut != "" {
				t.Fatalf("Truncate(%q, %d) = %q, want empty", got, n, cut)
			}
			return
		}
		if c := utf8.RuneCountInString(cut); c > n {
			t.Fatalf("Truncate(%q, %d) = %q has %d runes", got, n, cut, c)
		}
		if !utf8.ValidString(cut) {
			t.Fatalf("Truncate(%q, %d) = %q is not valid UTF-8", got, n, cut)
		}
		if cut != got && !strings.HasSuffix(cut, "…") {
			t.Fatalf("Truncate(%q, %d) = %q cut without …", got, n, cut)
		}
	})
}
