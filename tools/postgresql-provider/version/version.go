// Package version holds the provider version, set at link time:
//
//	go build -ldflags "-X platform-databases/tools/postgresql-provider/version.Version=3.18.1"
package version

// Version is the provider version without a leading "v" ("" when not set at link time).
var Version string

// Symbol is the linker name of Version, for error messages.
const Symbol = "platform-databases/tools/postgresql-provider/version.Version"
