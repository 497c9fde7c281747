package config

import (
	"strings"
	"testing"
	"time"
)

func TestConnectionSettings(t *testing.T) {
	base := map[string]string{"WHATALO_API_KEY": "wk_live_abcdef123456", "WAZION_TOKEN": "tok-1234567890"}
	c, err := FromEnv(env(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MaxConnsPerIP != DefaultMaxConnsPerIP || c.Server.HeaderTimeout != DefaultHeaderTimeout || c.Server.AdminListen != "" {
		t.Errorf("defaults: %+v", c.Server)
	}
	if c.Server.HeaderTimeout >= c.Server.ReadTimeout {
		t.Errorf("header timeout %s not below the read timeout %s", c.Server.HeaderTimeout, c.Server.ReadTimeout)
	}
	for v, want := range map[string]int{"0": -1, "12": 12} {
		m := map[string]string{"MAX_CONNS_PER_IP": v, "ADMIN_LISTEN_ADDR": "127.0.0.1:9090"}
		for k, x := range base {
			m[k] = x
		}
		c, err := FromEnv(env(m))
		if err != nil {
			t.Fatal(err)
		}
		if c.Server.MaxConnsPerIP != want || c.Server.AdminListen != "127.0.0.1:9090" {
			t.Errorf("MAX_CONNS_PER_IP=%s: %+v", v, c.Server)
		}
	}
	c.Server.HeaderTimeout = time.Minute
	c.Server.AdminListen = c.Listen
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "server.header_timeout") || !strings.Contains(err.Error(), "server.admin_listen") {
		t.Errorf("Validate: %v", err)
	}
}
