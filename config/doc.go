// Package config loads and validates the service's configuration: one store
// from environment variables, or many stores from a YAML file. It knows the
// settings' names and rules, and nothing of Whatalo's API or WAzion's
// contract; cmd/whatalo-wazion turns a Config into running parts. A setting's
// default is the one of the package that owns the behaviour (whatalo,
// wazion, adapter, adapter/cache, redisshare), read from there, so the two
// cannot drift.
//
// Secrets (API keys, WAzion tokens, webhook secrets) are held as Secret, which
// never prints its value, and may be written in the file as ${ENV_VAR}
// references resolved at load time.
package config
