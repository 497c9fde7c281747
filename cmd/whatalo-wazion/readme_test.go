package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatalo-wazion/whatalo-wazion/config"
	"github.com/whatalo-wazion/whatalo-wazion/whatalo/whatalotest"
)

// readmeBlock is one fenced code block of the README.
type readmeBlock struct {
	lang string
	line int // of the opening fence
	text string
}

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readmeBlock
	var cur *readmeBlock
	indent := ""
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &readmeBlock{lang: strings.TrimPrefix(trimmed, "```"), line: i + 1}
			// A block inside a list item is indented as its fence is.
			indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
		case cur != nil && trimmed == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += strings.TrimPrefix(line, indent) + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: code block never closed", cur.line)
	}
	return blocks
}

// shellLines joins continued lines and drops comments and blanks.
func shellLines(text string) []string {
	var out []string
	cont := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasSuffix(l, "\\") {
			cont += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		l = cont + l
		cont = ""
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// shellWords splits a command line as a POSIX shell would for the quoting
// the README uses: single and double quotes, no expansions.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	quote := byte(0)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestReadmeExamplesRun runs every code block of the README that is a
// configuration, a command or a request, so the docs cannot drift: a
// config block is loaded with its ${VAR}s set, a command's flags must
// exist, a curl line is sent to the demo and must be answered as the text
// around it says, and every metric a query names must exist.
func TestReadmeExamplesRun(t *testing.T) {
	blocks := readmeBlocks(t)
	var curls []string
	seen := map[string]int{}
	for _, b := range blocks {
		seen[b.lang]++
		where := fmt.Sprintf("README.md:%d", b.line)
		switch b.lang {
		case "yaml":
			checkReadmeYAML(t, where, b.text)
		case "sh":
			for _, line := range shellLines(b.text) {
				words := shellWords(line)
				i := 0
				for i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
					i++
				}
				switch cmd := words[i:]; {
				case len(cmd) == 0:
					t.Errorf("%s: %q runs nothing", where, line)
				case cmd[0] == "curl":
					curls = append(curls, line)
				case cmd[0] == "whatalo-wazion" || len(cmd) >= 3 && cmd[0] == "go" && cmd[1] == "run" && cmd[2] == "./cmd/whatalo-wazion":
					args := exampleArgs(t, strings.Join(cmd, " "))
					if _, _, err := cliRun(t, nil, append(args, "-h")...); err != nil {
						t.Errorf("%s: %q: %v", where, line, err)
					}
				case len(cmd) >= 2 && cmd[0] == "go" && cmd[1] == "test":
					ci, err := os.ReadFile("../../.ci/run")
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(string(ci), "\n"+line+"\n") {
						t.Errorf("%s: the README's test command %q is not what .ci/run runs", where, line)
					}
				case cmd[0] == "kill":
					// The signals serve handles (TestServeReloadsOnSIGHUP
					// sends the reload one), sent to the service.
					if len(cmd) != 3 || !slices.Contains([]string{"-HUP", "-TERM", "-INT"}, cmd[1]) ||
						!strings.Contains(cmd[2], "whatalo-wazion") {
						t.Errorf("%s: %q: serve handles kill -HUP, -TERM or -INT sent to whatalo-wazion", where, line)
					}
				case cmd[0] == "docker":
					// No image can be built here; what the image is given
					// must at least be settings the service reads.
					for j, w := range cmd {
						if w == "-e" && j+1 < len(cmd) {
							name, _, _ := strings.Cut(cmd[j+1], "=")
							if envDocs[name] == "" {
								t.Errorf("%s: docker run passes %s, which the service does not read", where, name)
							}
						}
					}
				default:
					t.Errorf("%s: %q: no test knows how to run %s", where, line, cmd[0])
				}
			}
		case "promql":
			checkReadmeMetrics(t, where, b.text)
		case "text":
			checkReadmeLayout(t, where, b.text)
		default:
			t.Errorf("%s: code block of unknown kind %q", where, b.lang)
		}
	}
	if seen["yaml"] == 0 || seen["sh"] == 0 || len(curls) == 0 {
		t.Fatalf("README blocks found: %v, %d curl lines: the parser missed them", seen, len(curls))
	}
	checkReadmeCurls(t, curls)
	checkReadmeInlineCommands(t)
}

func checkReadmeYAML(t *testing.T, where, text string) {
	t.Helper()
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`).FindAllStringSubmatch(text, -1) {
		switch {
		case strings.HasSuffix(m[1], "_KEY"):
			vars[m[1]] = "wk_live_readme_example_key"
		case strings.HasPrefix(m[1], "REDIS"):
			vars[m[1]] = "redis://127.0.0.1:6379/0"
		default:
			vars[m[1]] = "readme-example-secret-" + strings.ToLower(m[1])
		}
	}
	if !strings.Contains(text, "stores:") {
		// A fragment: it must load beside a store.
		text += "stores:\n  - name: readme\n    api_key: wk_test_readme\n    tokens: [readme-token-123]\n"
	}
	c, err := config.Parse([]byte(text), func(k string) string { return vars[k] })
	if err != nil {
		t.Errorf("%s: the YAML example does not load: %v", where, err)
		return
	}
	for _, s := range c.Stores {
		for _, tok := range s.Tokens {
			if strings.Contains(tok.Value(), "${") {
				t.Errorf("%s: store %s keeps a ${VAR} unexpanded in its tokens", where, s.Name)
			}
		}
	}
}

// checkReadmeCurls starts the demo and sends the README's curl lines to it
// in order, as a reader would, then checks what the cache tip promises.
func checkReadmeCurls(t *testing.T, lines []string) {
	t.Helper()
	// The tip promises a reused answer within answer_ttl; a slow machine
	// must not let the second request arrive after it.
	base := startDemo(t, map[string]string{"WAZION_ANSWER_TTL": "1m"}).base
	// The README's fake runs on port 8090 as `go run ./cmd/whatalo-fake`
	// starts it: the same fake, with the demo store and its default key.
	fake := whatalotest.NewServer(t, whatalotest.DemoSeed())
	var metricsOut []string
	for _, line := range lines {
		cmd, filter, piped := strings.Cut(line, "|")
		words := shellWords(cmd)
		method, url, body, contentType := http.MethodGet, "", "", ""
		var header []string
		for i := 1; i < len(words); i++ {
			switch w := words[i]; w {
			case "-s":
			case "-X":
				i++
				method = words[i]
			case "-H":
				i++
				k, v, _ := strings.Cut(words[i], ":")
				header = append(header, k, strings.TrimSpace(v))
			case "-d":
				i++
				body = words[i]
				if method == http.MethodGet {
					method = http.MethodPost
				}
				contentType = "application/x-www-form-urlencoded"
			default:
				if strings.HasPrefix(w, "-") {
					t.Fatalf("README curl %q: option %s unknown to this test", line, w)
				}
				url = strings.NewReplacer("http://127.0.0.1:8080", base, "http://127.0.0.1:8090", fake.URL).Replace(w)
			}
		}
		status, out := doRequest(t, method, url, contentType, []byte(body), header...)
		if status != http.StatusOK {
			t.Errorf("README curl %q: status %d: %s", line, status, out)
			continue
		}
		if strings.Contains(url, "/wazion/") {
			var answer struct {
				Found bool   `json:"found"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(out), &answer); err != nil || !answer.Found || answer.Error != "" {
				t.Errorf("README curl %q answered %.300s", line, out)
			}
		}
		if strings.Contains(url, "/v1/") && !strings.Contains(out, `"data"`) {
			t.Errorf("README curl %q to the fake answered %.300s", line, out)
		}
		if piped {
			fw := shellWords(filter)
			if len(fw) < 2 || fw[0] != "grep" {
				t.Fatalf("README pipes into %q, which this test cannot run", filter)
			}
			re := regexp.MustCompile(fw[len(fw)-1])
			var matched []string
			for _, l := range strings.Split(out, "\n") {
				if re.MatchString(l) {
					matched = append(matched, l)
				}
			}
			if len(matched) == 0 {
				t.Errorf("README curl %q: grep matches nothing", line)
			}
			metricsOut = matched
		}
	}
	if metricsOut == nil {
		t.Fatal("no README curl reads /metrics")
	}
	// What the tip says: of its three requests one was a reused answer and
	// one was built from the cache; only the first went to Whatalo.
	m := scrapeURL(t, base+"/metrics")
	if n := m.sum("whatalo_wazion_answers_total", "result", "reused"); n < 1 {
		t.Errorf("no reused answer after the README's repeated request:\n%s", strings.Join(metricsOut, "\n"))
	}
	if n := m.sum("whatalo_wazion_cache_lookups_total", "result", "hit"); n < 1 {
		t.Errorf("no cache hit after the README's request in another form")
	}
}

// demoRun is a demo started by startDemo.
type demoRun struct {
	base     string // http://127.0.0.1:PORT
	password string // the console's operator password it printed
}

// startDemo runs the demo as a user would, on a free loopback port, until
// the test ends, and waits until its index is ready and its first sync's
// changes applied (they drop recent answers): the state the demo stays in.
func startDemo(t *testing.T, extraEnv map[string]string) demoRun {
	t.Helper()
	env := map[string]string{"LISTEN_ADDR": "127.0.0.1:0"}
	for k, v := range extraEnv {
		env[k] = v
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"whatalo-wazion", "demo"}, func(k string) string { return env[k] }, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	var d demoRun
	consoleLine := regexp.MustCompile(`Console \(setup, status, preview\): (http://\S+)/console/\n\s+operator password: (\S+)`)
	eventually(t, 15*time.Second, "the demo's banner with the console's address and password", func() bool {
		m := consoleLine.FindStringSubmatch(stdout.String())
		if m != nil {
			d.base, d.password = m[1], m[2]
		}
		return m != nil
	})
	eventually(t, 10*time.Second, "the demo's index", func() bool {
		status, _ := doRequest(t, http.MethodGet, d.base+"/readyz", "", nil)
		return status == http.StatusOK && scrapeURL(t, d.base+"/metrics").sum("whatalo_wazion_index_last_sync_timestamp_seconds") > 0
	})
	return d
}

// checkReadmeMetrics: every metric a query names exists on a running
// service's /metrics.
func checkReadmeMetrics(t *testing.T, where, text string) {
	t.Helper()
	base := startDemo(t, nil).base
	for _, path := range []string{
		"/wazion/sidePanel_CustomerInfo?token=demo-token&phone=%2B18095551234",
		"/wazion/sidePanel_CustomerInfo?token=demo-token&phone=%2B18095550000",
	} {
		doRequest(t, http.MethodGet, base+path, "", nil)
	}
	m := scrapeURL(t, base+"/metrics")
	for _, name := range regexp.MustCompile(`\bwhatalo_wazion_[a-z_]+`).FindAllString(text, -1) {
		family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
		if m[family] == nil {
			t.Errorf("%s: the query names %s, which /metrics does not have", where, name)
		}
	}
}

// checkReadmeInlineCommands: the commands written inline in the README's
// text (`whatalo-wazion check [--json]`) name flags that exist.
func checkReadmeInlineCommands(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	inline := regexp.MustCompile("`((?:go run \\./cmd/)?whatalo-wazion(?: [^`]*)?)`")
	n := 0
	for _, m := range inline.FindAllStringSubmatch(string(data), -1) {
		line := m[1]
		// [--flag] is an optional flag; <store> and HOST stand for values.
		line = regexp.MustCompile(`\[(--?[a-z-]+)[^\]]*\]`).ReplaceAllString(line, "$1")
		line = strings.NewReplacer("<store>", "default", "|", " ").Replace(line)
		words := strings.Fields(line)
		if len(words) < 2 || words[0] == "go" && len(words) < 4 {
			continue // the program's name alone
		}
		args := exampleArgs(t, strings.Join(words, " "))
		if slices.Contains(args, "register") && slices.Contains(args, "list") {
			continue // "register|list|delete" names the subcommands
		}
		n++
		if _, _, err := cliRun(t, nil, append(args, "-h")...); err != nil {
			t.Errorf("README's %q: %v", m[1], err)
		}
	}
	if n == 0 {
		t.Error("no inline command found in the README")
	}
}

// checkReadmeLayout: every folder and file a drawing of the layout names
// exists. A name at the start of a line (after two spaces per level) is
// inside the folder named above it one level up.
func checkReadmeLayout(t *testing.T, where, text string) {
	t.Helper()
	var dirs []string // by level
	n := 0
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		name, _, _ := strings.Cut(trimmed, " ")
		if indent%2 != 0 || !(strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".go")) {
			continue
		}
		level := indent / 2
		if level > len(dirs) {
			continue // a continuation of the line above
		}
		dirs = dirs[:level]
		path := strings.Join(append(slices.Clone(dirs), name), "")
		if _, err := os.Stat("../../" + path); err != nil {
			t.Errorf("%s: the layout names %s, which does not exist", where, path)
		}
		n++
		if strings.HasSuffix(name, "/") {
			dirs = append(dirs, name)
		}
	}
	if n == 0 {
		t.Errorf("%s: a text block names no file or folder", where)
	}
}
