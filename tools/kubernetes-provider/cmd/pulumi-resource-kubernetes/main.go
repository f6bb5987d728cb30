// Command pulumi-resource-kubernetes is the Pulumi kubernetes resource plugin,
// built from github.com/pulumi/pulumi-kubernetes/provider/v4 by
// scripts/ensure-kubernetes-provider.sh. It is upstream's
// provider/cmd/pulumi-resource-kubernetes/main.go: the module ships that
// directory's schema.json and terraform-mapping.json but not the
// *-embed.json files `go generate` derives from them (the schema stamped with
// the version), so the build script copies the two JSON files here from the
// module cache, runs upstream's generate.go on them, and then builds.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

var providerName = "kubernetes"

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
