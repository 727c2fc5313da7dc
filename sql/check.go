package sql

// CheckAccounts tells, before anything listens, whether NewServer would
// accept cfg's accounts: each works with the TLS setting, and none without
// a password on an address other hosts can reach (see checkUsers).
func CheckAccounts(cfg Config) error {
	users := cfg.Users
	if len(users) == 0 {
		users = DefaultUsers
	}
	return checkUsers(cfg.Addr, users, cfg.TLS)
}

// IsLoopback reports whether a listening address (host:port) only accepts
// connections from this host.
func IsLoopback(addr string) bool { return isLoopback(addr) }
