#Requires -Version 7.0
<#
.SYNOPSIS
    azd post-provision step (azure.yaml) on Windows: with DATABASE_KIND=azuresql, makes the connector's managed
    identity a user of the CRM database (infra/scripts/connector-database-user.sql). With sqlite it does nothing.

.DESCRIPTION
    Needs go-sqlcmd (the `sqlcmd` whose --authentication-method ActiveDirectoryDefault signs in with `az login`),
    a sign-in as the server's Entra administrator, and a firewall rule for this workstation (SQL_CLIENT_IP).
    Reads from the azd environment: DATABASE_KIND, AZURE_SQL_SERVER_FQDN, AZURE_SQL_DATABASE_NAME,
    CONNECTOR_IDENTITY_NAME. The same steps as create-sql-user.sh.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$kind = if ($env:DATABASE_KIND) { $env:DATABASE_KIND } else { 'sqlite' }
if ($kind -ne 'azuresql') {
    Write-Host "create-sql-user: DATABASE_KIND is $kind; no database user to create."
    exit 0
}

foreach ($name in 'AZURE_SQL_SERVER_FQDN', 'AZURE_SQL_DATABASE_NAME', 'CONNECTOR_IDENTITY_NAME') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        Write-Error "create-sql-user: $name is not set (run it through azd, which passes the provisioning outputs)."
    }
}

# The name goes into T-SQL as an identifier: accept only what the template creates.
if ($env:CONNECTOR_IDENTITY_NAME -cnotmatch '^[A-Za-z0-9-]+$') {
    Write-Error "create-sql-user: unexpected identity name '$($env:CONNECTOR_IDENTITY_NAME)' (letters, digits and hyphens only)."
}

if (-not (Get-Command sqlcmd -ErrorAction SilentlyContinue)) {
    Write-Error 'create-sql-user: sqlcmd not found. Install go-sqlcmd (docs/deploy-azure.md, step 1), sign in with az login, then run: azd hooks run postprovision'
}

$sqlFile = Join-Path $PSScriptRoot 'connector-database-user.sql'
Write-Host "create-sql-user: granting $($env:CONNECTOR_IDENTITY_NAME) its roles on $($env:AZURE_SQL_DATABASE_NAME) at $($env:AZURE_SQL_SERVER_FQDN)"
sqlcmd -S $env:AZURE_SQL_SERVER_FQDN -d $env:AZURE_SQL_DATABASE_NAME `
    --authentication-method ActiveDirectoryDefault -b `
    -i $sqlFile `
    -v "IdentityName=$($env:CONNECTOR_IDENTITY_NAME)"
if ($LASTEXITCODE -ne 0) {
    Write-Error "create-sql-user: sqlcmd failed with exit code $LASTEXITCODE."
}
Write-Host 'create-sql-user: done.'
