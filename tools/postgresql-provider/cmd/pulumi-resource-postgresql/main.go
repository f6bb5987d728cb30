// Command pulumi-resource-postgresql is the Pulumi resource plugin for the
// postgresql package: the upstream Terraform provider served through
// pulumi-terraform-bridge (see the provider package). The Pulumi package schema
// it serves is generated at build time by cmd/pulumi-tfgen-postgresql into
// schema.json next to this file (git-ignored) and embedded.
package main

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	provider "platform-databases/tools/postgresql-provider"
	"platform-databases/tools/postgresql-provider/version"
)

//go:embed schema.json
var schema []byte

func main() {
	info, err := provider.Info(version.Version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-postgresql: %v\n", err)
		os.Exit(1)
	}
	tfbridge.Main(provider.Package, version.Version, info, schema)
}
