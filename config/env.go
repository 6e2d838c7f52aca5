package config

import (
	"fmt"
	"strconv"
)

// Environment variables that override the file (see ApplyEnv).
const (
	EnvSecret         = "SEKISHO_SECRET"
	EnvIssuer         = "SEKISHO_ISSUER"
	EnvListen         = "SEKISHO_LISTEN"
	EnvDatabaseDriver = "SEKISHO_DATABASE_DRIVER"
	EnvDatabaseDSN    = "SEKISHO_DATABASE_DSN"
	EnvSMTPHost       = "SEKISHO_SMTP_HOST"
	EnvSMTPPort       = "SEKISHO_SMTP_PORT"
	EnvSMTPUsername   = "SEKISHO_SMTP_USERNAME"
	EnvSMTPPassword   = "SEKISHO_SMTP_PASSWORD"
	EnvSMTPFrom       = "SEKISHO_SMTP_FROM"
)

// ApplyEnv overrides file values with the SEKISHO_* environment variables
// that are set and non-empty, read through getenv (os.Getenv in main), and
// sets Secret from SEKISHO_SECRET.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	for name, dst := range map[string]*string{
		EnvSecret:         &c.Secret,
		EnvIssuer:         &c.Issuer,
		EnvListen:         &c.Listen,
		EnvDatabaseDriver: &c.Database.Driver,
		EnvDatabaseDSN:    &c.Database.DSN,
		EnvSMTPHost:       &c.SMTP.Host,
		EnvSMTPUsername:   &c.SMTP.Username,
		EnvSMTPPassword:   &c.SMTP.Password,
		EnvSMTPFrom:       &c.SMTP.From,
	} {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	if v := getenv(EnvSMTPPort); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("config: %s: %q is not a port number", EnvSMTPPort, v)
		}
		c.SMTP.Port = port
	}
	return nil
}
