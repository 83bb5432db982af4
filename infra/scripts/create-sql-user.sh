#!/bin/sh
# azd post-provision step (azure.yaml): with DATABASE_KIND=azuresql, makes the connector's managed identity a user
# of the CRM database (infra/scripts/connector-database-user.sql). With sqlite there is nothing to do.
#
# Needs go-sqlcmd (the `sqlcmd` whose --authentication-method ActiveDirectoryDefault signs in with `az login`),
# a sign-in as the server's Entra administrator, and a firewall rule for this workstation (SQL_CLIENT_IP).
# Reads from the azd environment: DATABASE_KIND, AZURE_SQL_SERVER_FQDN, AZURE_SQL_DATABASE_NAME, CONNECTOR_IDENTITY_NAME.
set -eu

if [ "${DATABASE_KIND:-sqlite}" != "azuresql" ]; then
  echo "create-sql-user: DATABASE_KIND is ${DATABASE_KIND:-sqlite}; no database user to create."
  exit 0
fi

for name in AZURE_SQL_SERVER_FQDN AZURE_SQL_DATABASE_NAME CONNECTOR_IDENTITY_NAME; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "create-sql-user: $name is not set (run it through azd, which passes the provisioning outputs)." >&2
    exit 1
  fi
done

# The name goes into T-SQL as an identifier: accept only what the template creates.
case "$CONNECTOR_IDENTITY_NAME" in
  *[!A-Za-z0-9-]*)
    echo "create-sql-user: unexpected identity name '$CONNECTOR_IDENTITY_NAME' (letters, digits and hyphens only)." >&2
    exit 1
    ;;
esac

if ! command -v sqlcmd >/dev/null 2>&1; then
  echo "create-sql-user: sqlcmd not found. Install go-sqlcmd (docs/deploy-azure.md, step 1), sign in with" >&2
  echo "  az login, then run: azd hooks run postprovision" >&2
  exit 1
fi

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
echo "create-sql-user: granting $CONNECTOR_IDENTITY_NAME its roles on $AZURE_SQL_DATABASE_NAME at $AZURE_SQL_SERVER_FQDN"
sqlcmd -S "$AZURE_SQL_SERVER_FQDN" -d "$AZURE_SQL_DATABASE_NAME" \
  --authentication-method ActiveDirectoryDefault -b \
  -i "$script_dir/connector-database-user.sql" \
  -v "IdentityName=$CONNECTOR_IDENTITY_NAME"
echo "create-sql-user: done."
