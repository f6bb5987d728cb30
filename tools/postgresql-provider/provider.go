// Package provider describes the Pulumi postgresql provider that this module
// builds: the upstream Terraform provider (cyrilgdn/terraform-provider-postgresql)
// bridged with pulumi-terraform-bridge, with the same resource tokens, property
// names, provider config keys and defaults as the published Pulumi package
// @pulumi/postgresql of the same version, so that SDK can drive it.
//
// Why it exists: the module of the published provider is not served by the Go
// module proxy reachable from this project's machines, while its ingredients
// are (see tools/versions.env and scripts/build-postgresql-provider.sh).
//
// The same Info is used twice: by cmd/pulumi-tfgen-postgresql at build time to
// generate the Pulumi package schema, and by cmd/pulumi-resource-postgresql, the
// plugin the Pulumi engine runs, which serves that schema.
package provider

import (
	"fmt"

	"github.com/cyrilgdn/terraform-provider-postgresql/postgresql"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"

	"platform-databases/tools/postgresql-provider/version"
)

const (
	// Package is the Pulumi package name; resource tokens are "postgresql:index/<camel>:<Pascal>".
	Package = "postgresql"
	// module holds every resource and function, as in @pulumi/postgresql.
	module = "index"
	// tfPrefix is the prefix of every upstream resource and data source name.
	tfPrefix = "postgresql_"

	// autonameMaxLength and autonameSeparator shape the name Pulumi proposes for a
	// resource whose "name" input is omitted (in @pulumi/postgresql `name` is
	// optional for Role, Database, Schema, ... although upstream requires it).
	// 63 would be PostgreSQL's identifier limit; 255 is what the published
	// provider uses, kept for identical behaviour.
	autonameMaxLength = 255
	autonameSeparator = "-"
)

// Info returns the bridge description of the provider, for the given provider
// version (semver without a leading "v", e.g. "3.18.1").
func Info(providerVersion string) (tfbridge.ProviderInfo, error) {
	if providerVersion == "" {
		return tfbridge.ProviderInfo{}, fmt.Errorf("provider version is empty: build with -ldflags \"-X %s=<version>\"", version.Symbol)
	}
	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(postgresql.Provider()),
		Name:        Package,
		Version:     providerVersion,
		Description: "PostgreSQL roles, databases, schemas, grants and more, bridged from the postgresql Terraform provider.",
		Keywords:    []string{"pulumi", "postgresql"},
		License:     "Apache-2.0",
		// The upstream Go module is github.com/cyrilgdn/terraform-provider-postgresql.
		GitHubOrg: "cyrilgdn",

		Config: map[string]*tfbridge.SchemaInfo{
			// @pulumi/postgresql's Provider fills these from the environment when
			// they are not given (provider.js: PGSSLMODE; PGCONNECT_TIMEOUT or 180);
			// the schema records the same defaults.
			"sslmode":         {Default: &tfbridge.DefaultInfo{EnvVars: []string{"PGSSLMODE"}}},
			"connect_timeout": {Default: &tfbridge.DefaultInfo{EnvVars: []string{"PGCONNECT_TIMEOUT"}, Value: 180}},
		},
	}

	// Every postgresql_<x> resource becomes postgresql:index/<camel>:<Pascal>
	// and every postgresql_<x> data source postgresql:index/get<Pascal>:get<Pascal>,
	// e.g. postgresql_grant_role -> postgresql:index/grantRole:GrantRole,
	// postgresql_default_privileges -> postgresql:index/defaultPrivileges:DefaultPrivileges.
	// Property names are the Terraform names camel-cased by the bridge
	// (grant_role -> grantRole, connect_timeout -> connectTimeout, ...).
	if err := info.ComputeTokens(tokens.SingleModule(tfPrefix, module, tokens.MakeStandard(Package))); err != nil {
		return tfbridge.ProviderInfo{}, fmt.Errorf("computing resource tokens: %w", err)
	}
	// A grant is identified by (role, database, schema, object type): a
	// replacement created before the old grant is deleted would be revoked by
	// that delete. So the old one goes first (as in the published provider).
	grant, ok := info.Resources["postgresql_grant"]
	if !ok {
		return tfbridge.ProviderInfo{}, fmt.Errorf("upstream provider has no resource postgresql_grant")
	}
	grant.DeleteBeforeReplace = true
	info.SetAutonaming(autonameMaxLength, autonameSeparator)
	return info, nil
}
