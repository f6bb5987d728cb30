# The peer of the Pulumi program in `make bench` (scripts/bench.ts): the
# objects ServiceDatabase and BackupRole create for each service (components/
# database/service-database.ts, backup-role.ts), with the same provider (cyrilgdn/postgresql, which our
# Pulumi postgresql provider bridges), the same provider settings and the same
# non-superuser admin. Passwords come in as a variable (the program generates
# them with a dynamic provider; OpenTofu would need the random provider).
# After a cold apply, the bench compares this server's catalog with the one the
# program left.
terraform {
  required_providers {
    postgresql = {
      source  = "cyrilgdn/postgresql"
      version = "1.27.0"
    }
  }
}

variable "host" {
  type = string
}
variable "port" {
  type = number
}
variable "admin_user" {
  type        = string
  description = "CREATEDB CREATEROLE, not a superuser (its password: PGPASSWORD)."
}
variable "postgres_version" {
  type    = number
  default = 17
}
variable "services" {
  type        = list(string)
  description = "Database names = service names (environment dev)."
}
variable "managed_schema_services" {
  type    = list(string)
  default = []
}
variable "connection_limit" {
  type    = number
  default = 25
}
variable "passwords" {
  type      = map(string)
  sensitive = true
}

provider "postgresql" {
  host             = var.host
  port             = var.port
  username         = var.admin_user
  database         = "postgres"
  sslmode          = "disable"
  superuser        = false
  expected_version = "${var.postgres_version}.0.0"
  connect_timeout  = 15
}

locals {
  services = toset(var.services)
  managed  = toset(var.managed_schema_services)
}

resource "postgresql_role" "login" {
  for_each                  = local.services
  name                      = "${each.key}_app"
  login                     = true
  password                  = var.passwords[each.key]
  connection_limit          = var.connection_limit
  superuser                 = false
  create_database           = false
  create_role               = false
  replication               = false
  bypass_row_level_security = false
  inherit                   = true
  skip_reassign_owned       = true
}

resource "postgresql_role" "owner" {
  for_each                  = local.managed
  name                      = "${each.key}_owner"
  login                     = false
  inherit                   = false
  superuser                 = false
  create_database           = false
  create_role               = false
  replication               = false
  bypass_row_level_security = false
  skip_reassign_owned       = true
}

resource "postgresql_database" "db" {
  for_each          = local.services
  name              = each.key
  template          = "template0"
  encoding          = "UTF8"
  lc_collate        = "C"
  lc_ctype          = "C"
  allow_connections = true
  depends_on        = [postgresql_role.login, postgresql_role.owner]
}

resource "postgresql_grant" "revoke_public" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  role        = "public"
  object_type = "database"
  privileges  = []
}

resource "postgresql_grant" "connect" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  role        = postgresql_role.login[each.key].name
  object_type = "database"
  privileges  = ["CONNECT", "TEMPORARY"]
  depends_on  = [postgresql_grant.revoke_public]
}

resource "postgresql_schema" "public" {
  for_each      = local.services
  name          = "public"
  database      = postgresql_database.db[each.key].name
  owner         = try(postgresql_role.owner[each.key].name, postgresql_role.login[each.key].name)
  if_not_exists = true
}

resource "postgresql_grant" "schema_revoke_public" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  schema      = "public"
  role        = "public"
  object_type = "schema"
  privileges  = []
  depends_on  = [postgresql_schema.public]
}

resource "postgresql_grant" "schema_usage" {
  for_each    = local.managed
  database    = postgresql_database.db[each.key].name
  schema      = "public"
  role        = postgresql_role.login[each.key].name
  object_type = "schema"
  privileges  = ["USAGE"]
  depends_on  = [postgresql_schema.public, postgresql_grant.schema_revoke_public]
}

# BackupRole (components/database/backup-role.ts): a read-only login role per
# database, CONNECT, USAGE and SELECT on what is there and what its creator
# makes later. Grants on one database run one after the other, as in the
# program (two GRANTs rewriting one ACL at once fail).
resource "postgresql_role" "backup" {
  for_each                  = local.services
  name                      = "${each.key}_backup"
  login                     = true
  password                  = "${var.passwords[each.key]}-backup"
  connection_limit          = 2
  superuser                 = false
  create_database           = false
  create_role               = false
  replication               = false
  bypass_row_level_security = false
  inherit                   = true
  skip_reassign_owned       = true
}

resource "postgresql_grant" "backup_connect" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  role        = postgresql_role.backup[each.key].name
  object_type = "database"
  privileges  = ["CONNECT"]
  depends_on  = [postgresql_grant.connect]
}

resource "postgresql_grant" "backup_schema_usage" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  schema      = "public"
  role        = postgresql_role.backup[each.key].name
  object_type = "schema"
  privileges  = ["USAGE"]
  depends_on  = [postgresql_grant.backup_connect, postgresql_grant.schema_usage, postgresql_grant.schema_revoke_public]
}

resource "postgresql_grant" "backup_tables" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  schema      = "public"
  role        = postgresql_role.backup[each.key].name
  object_type = "table"
  privileges  = ["SELECT"]
  depends_on  = [postgresql_grant.backup_schema_usage]
}

resource "postgresql_grant" "backup_sequences" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  schema      = "public"
  role        = postgresql_role.backup[each.key].name
  object_type = "sequence"
  privileges  = ["SELECT"]
  depends_on  = [postgresql_grant.backup_tables]
}

resource "postgresql_default_privileges" "backup_tables" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  schema      = "public"
  owner       = try(postgresql_role.owner[each.key].name, postgresql_role.login[each.key].name)
  role        = postgresql_role.backup[each.key].name
  object_type = "table"
  privileges  = ["SELECT"]
  depends_on  = [postgresql_grant.backup_sequences]
}

resource "postgresql_default_privileges" "backup_sequences" {
  for_each    = local.services
  database    = postgresql_database.db[each.key].name
  schema      = "public"
  owner       = try(postgresql_role.owner[each.key].name, postgresql_role.login[each.key].name)
  role        = postgresql_role.backup[each.key].name
  object_type = "sequence"
  privileges  = ["SELECT"]
  depends_on  = [postgresql_default_privileges.backup_tables]
}
