// Command pulumi-tfgen-postgresql generates the Pulumi package schema of the
// postgresql provider (build time only):
//
//	pulumi-tfgen-postgresql schema --skip-examples --out <dir>
//
// writes <dir>/schema.json. Resource and property descriptions are taken from
// the upstream provider's website/docs when POSTGRESQL_UPSTREAM_DIR names a
// copy of the upstream module (scripts/build-postgresql-provider.sh sets it);
// otherwise the schema has only the descriptions in the Terraform schema.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	provider "platform-databases/tools/postgresql-provider"
	"platform-databases/tools/postgresql-provider/version"
)

func main() {
	info, err := provider.Info(version.Version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-tfgen-postgresql: %v\n", err)
		os.Exit(1)
	}
	info.UpstreamRepoPath = os.Getenv("POSTGRESQL_UPSTREAM_DIR")
	tfgen.Main(provider.Package, version.Version, info)
}
