#Requires -Version 5.1
#Requires -Modules Microsoft.Graph.Authentication, Microsoft.Graph.Applications, ExchangeOnlineManagement

<#
.SYNOPSIS
    Gives the Email Connector's managed identity mail access to the support mailbox, and to no other mailbox.

.DESCRIPTION
    The connector needs three Microsoft Graph application permissions on the support mailbox:
      Mail.Read       subscriptions and reading raw messages
      Mail.ReadWrite  moving messages to Processed/Failed and creating those folders
      Mail.Send       acknowledgments, forwards and XML API responses

    There are two ways to hold them, and the script does one of them (-Mode):

    MailboxScoped (default, for production)
      Exchange Online RBAC for Applications grants the three permissions as Exchange roles
      ("Application Mail.Read", "Application Mail.ReadWrite", "Application Mail.Send") limited by a management
      scope that matches the support mailbox only:
        1. New-ManagementScope   a recipient filter on the mailbox's primary SMTP address;
        2. New-ServicePrincipal  Exchange's pointer to the identity's enterprise application (AppId + ObjectId);
        3. New-ManagementRoleAssignment  one per role, with -CustomResourceScope.
      Then the same permissions granted tenant-wide in Entra ID (app role assignments on Microsoft Graph, what
      "admin consent" creates) are REMOVED. Entra ID and Exchange permissions add up: while the identity still holds
      an unscoped Mail.* grant in Entra ID, its token reaches every mailbox and the management scope restricts
      nothing. Use -KeepTenantWideConsent to only report them instead.
      Finally Test-ServicePrincipalAuthorization shows, per role, whether the support mailbox is in scope (and,
      with -OtherMailbox, that another mailbox is not).

    TenantWide (quick trial only)
      Assigns Mail.Read, Mail.ReadWrite and Mail.Send to the identity in Entra ID: access to EVERY mailbox in the
      tenant. Nothing is changed in Exchange. Run the script again later with -Mode MailboxScoped to restrict it.

    Every step checks what exists first, so running the script twice changes nothing the second time.
    -WhatIf shows what would change.

    Who can run it: for the Graph part, a Privileged Role Administrator, Cloud Application Administrator or Global
    Administrator (scopes Application.Read.All and AppRoleAssignment.ReadWrite.All); for the Exchange part, a member
    of the Organization Management role group.

    Changes to RBAC for Applications can take a while to reach Exchange's caches (Microsoft mentions up to two hours),
    and a managed identity's token, with its old Entra ID roles, can be cached for up to 24 hours. Restart the web app
    after the change and allow for that delay before concluding anything from a 403.

.PARAMETER PrincipalId
    Object id of the managed identity's service principal: azd env get-value CONNECTOR_IDENTITY_PRINCIPAL_ID.

.PARAMETER MailboxUpn
    The support mailbox (user principal name or primary SMTP address), the same as SUPPORT_MAILBOX. Several
    mailboxes: a comma-separated list (as in SUPPORT_MAILBOX) or an array; the scope then covers all of them.

.PARAMETER Mode
    MailboxScoped (default) or TenantWide, see the description.

.PARAMETER ScopeName
    Name of the Exchange management scope to create or update.

.PARAMETER OtherMailbox
    A mailbox that must NOT be reachable; checked with Test-ServicePrincipalAuthorization at the end.

.PARAMETER KeepTenantWideConsent
    In MailboxScoped mode, only warn about tenant-wide Mail.* grants in Entra ID instead of removing them.

.PARAMETER TenantId
    Tenant to connect Microsoft Graph to; default: the signed-in account's home tenant.

.PARAMETER SkipConnect
    Use the Connect-MgGraph / Connect-ExchangeOnline sessions that are already open.

.EXAMPLE
    ./grant-graph-permissions.ps1 -PrincipalId 11111111-2222-3333-4444-555555555555 -MailboxUpn support@msp.example

.EXAMPLE
    ./grant-graph-permissions.ps1 -PrincipalId 11111111-2222-3333-4444-555555555555 -MailboxUpn support@msp.example `
        -OtherMailbox ceo@msp.example -WhatIf
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)]
    [ValidatePattern('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')]
    [string] $PrincipalId,

    [Parameter(Mandatory = $true)]
    [ValidateNotNullOrEmpty()]
    [string[]] $MailboxUpn,

    [ValidateSet('MailboxScoped', 'TenantWide')]
    [string] $Mode = 'MailboxScoped',

    [ValidateLength(1, 64)]
    [string] $ScopeName = 'Email Connector support mailbox',

    [string] $OtherMailbox,

    [switch] $KeepTenantWideConsent,

    [string] $TenantId,

    [switch] $SkipConnect
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

# A property of a (deserialised) Exchange object, or $null when the object does not carry it: under StrictMode a
# missing property would otherwise stop the script.
function Get-Value($Object, [string] $Name) {
    if ($null -ne $Object -and $Object.PSObject.Properties[$Name]) { $Object.$Name } else { $null }
}

# Microsoft Graph's own application id: the resource whose app roles are Mail.Read, Mail.ReadWrite, Mail.Send.
$graphAppId = '00000003-0000-0000-c000-000000000000'
$permissions = @('Mail.Read', 'Mail.ReadWrite', 'Mail.Send')

# --- Microsoft Graph: the identity and Graph's app roles ------------------------------------------------------

if (-not $SkipConnect) {
    $connect = @{ Scopes = @('Application.Read.All', 'AppRoleAssignment.ReadWrite.All'); NoWelcome = $true }
    if ($TenantId) { $connect.TenantId = $TenantId }
    Connect-MgGraph @connect
}

$identity = Get-MgServicePrincipal -ServicePrincipalId $PrincipalId
if ($identity.ServicePrincipalType -ne 'ManagedIdentity') {
    Write-Warning "Service principal $PrincipalId is of type '$($identity.ServicePrincipalType)', not ManagedIdentity."
}
Write-Host "Identity: $($identity.DisplayName)  AppId (client id) $($identity.AppId)  ObjectId $($identity.Id)"

$graph = Get-MgServicePrincipal -Filter "appId eq '$graphAppId'"
$roles = foreach ($permission in $permissions) {
    $role = $graph.AppRoles | Where-Object { $_.Value -eq $permission -and $_.AllowedMemberTypes -contains 'Application' }
    if (-not $role) { throw "Microsoft Graph has no application permission named $permission." }
    $role
}

# The identity's current Entra ID grants of these permissions (tenant-wide by nature).
function Get-TenantWideMailGrants {
    $roleIds = @($roles | ForEach-Object { $_.Id })
    @(Get-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $identity.Id -All |
            Where-Object { $_.ResourceId -eq $graph.Id -and $roleIds -contains $_.AppRoleId })
}

function Get-PermissionName([string] $AppRoleId) {
    ($roles | Where-Object { $_.Id -eq $AppRoleId }).Value
}

# --- TenantWide: Entra ID app role assignments only ----------------------------------------------------------------

if ($Mode -eq 'TenantWide') {
    Write-Warning 'TenantWide grants mail access to EVERY mailbox in the tenant. Use -Mode MailboxScoped for production.'
    $granted = @(Get-TenantWideMailGrants)
    foreach ($role in $roles) {
        if ($granted | Where-Object { $_.AppRoleId -eq $role.Id }) {
            Write-Host "Entra ID: $($role.Value) already granted."
            continue
        }
        if ($PSCmdlet.ShouldProcess($identity.DisplayName, "Grant Microsoft Graph $($role.Value) (tenant-wide)")) {
            New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $identity.Id -PrincipalId $identity.Id `
                -ResourceId $graph.Id -AppRoleId $role.Id | Out-Null
            Write-Host "Entra ID: granted $($role.Value)."
        }
    }
    return
}

# --- MailboxScoped: Exchange Online RBAC for Applications -----------------------------------------------------------

if (-not $SkipConnect) {
    Connect-ExchangeOnline -ShowBanner:$false
}

# The scope matches each mailbox by primary SMTP address, which may differ from the UPN we were given. One scope
# names every support mailbox: running the script once per mailbox would replace the filter each time.
$upns = @($MailboxUpn | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
$primarySmtps = @($upns | ForEach-Object { [string] (Get-Mailbox -Identity $_).PrimarySmtpAddress })
$filter = ($primarySmtps | ForEach-Object { "(PrimarySmtpAddress -eq '$($_.Replace("'", "''"))')" }) -join ' -or '
Write-Host "Mailboxes: $($primarySmtps -join ', ')"

# 1. Management scope: the support mailbox only.
$scope = Get-ManagementScope | Where-Object { $_.Name -eq $ScopeName }
if (-not $scope) {
    if ($PSCmdlet.ShouldProcess($ScopeName, "New-ManagementScope with filter $filter")) {
        New-ManagementScope -Name $ScopeName -RecipientRestrictionFilter $filter | Out-Null
        Write-Host "Exchange: created management scope '$ScopeName'."
    }
}
else {
    # Exchange may store the filter with extra parentheses or spacing: compare without them.
    $current = [string] (Get-Value $scope 'RecipientFilter')
    $normalise = { param($text) ([string] $text -replace '[\s()]', '').ToLowerInvariant() }
    if ((& $normalise $current) -ne (& $normalise $filter)) {
        if ($PSCmdlet.ShouldProcess($ScopeName, "Set-ManagementScope filter from '$current' to '$filter'")) {
            Set-ManagementScope -Identity $ScopeName -RecipientRestrictionFilter $filter
            Write-Host "Exchange: updated the filter of management scope '$ScopeName'."
        }
    }
    else {
        Write-Host "Exchange: management scope '$ScopeName' already matches the mailbox."
    }
}

# 2. Exchange's service principal: a pointer to the Entra ID enterprise application of the managed identity.
$exchangePrincipal = Get-ServicePrincipal | Where-Object { (Get-Value $_ 'AppId') -eq $identity.AppId }
if (-not $exchangePrincipal) {
    if ($PSCmdlet.ShouldProcess($identity.DisplayName, 'New-ServicePrincipal in Exchange Online')) {
        New-ServicePrincipal -AppId $identity.AppId -ObjectId $identity.Id -DisplayName $identity.DisplayName | Out-Null
        Write-Host 'Exchange: created the service principal.'
    }
}
else {
    Write-Host 'Exchange: service principal already exists.'
}

# 3. One role assignment per permission, limited to the scope. Fixed names make re-runs find their own assignments.
$shortAppId = $identity.AppId.Substring(0, 8)
foreach ($permission in $permissions) {
    $roleName = "Application $permission"
    $assignmentName = "Email Connector $permission $shortAppId"
    $assignment = Get-ManagementRoleAssignment -Role $roleName | Where-Object { $_.Name -eq $assignmentName }
    if (-not $assignment) {
        if ($PSCmdlet.ShouldProcess($identity.DisplayName, "Assign '$roleName' limited to '$ScopeName'")) {
            New-ManagementRoleAssignment -Name $assignmentName -App $identity.AppId -Role $roleName `
                -CustomResourceScope $ScopeName | Out-Null
            Write-Host "Exchange: assigned '$roleName' in scope '$ScopeName'."
        }
    }
    elseif ([string] (Get-Value $assignment 'CustomResourceScope') -ne $ScopeName) {
        if ($PSCmdlet.ShouldProcess($assignmentName, "Limit to scope '$ScopeName'")) {
            Set-ManagementRoleAssignment -Identity $assignmentName -CustomResourceScope $ScopeName
            Write-Host "Exchange: '$roleName' now limited to '$ScopeName'."
        }
    }
    else {
        Write-Host "Exchange: '$roleName' already assigned in scope '$ScopeName'."
    }
}

# 4. Remove the tenant-wide Entra ID grants of the same permissions. Exchange adds its scoped roles to whatever the
#    token already carries, so an unscoped Mail.* app role left in Entra ID would still open every mailbox and the
#    scope above would have no effect. Done after step 3 so that the identity is never left without access.
$tenantWide = @(Get-TenantWideMailGrants)
foreach ($grant in $tenantWide) {
    $name = Get-PermissionName $grant.AppRoleId
    if ($KeepTenantWideConsent) {
        Write-Warning "Entra ID still grants $name tenant-wide: the mailbox scope has NO effect until it is removed."
        continue
    }
    if ($PSCmdlet.ShouldProcess($identity.DisplayName, "Remove tenant-wide Microsoft Graph $name")) {
        Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $identity.Id -AppRoleAssignmentId $grant.Id
        Write-Host "Entra ID: removed the tenant-wide grant of $name."
    }
}
if ($tenantWide.Count -eq 0) {
    Write-Host 'Entra ID: no tenant-wide Mail.* grant (as it should be).'
}

# 5. Check. InScope must be True for the support mailbox (every role) and False for any other mailbox.
if ($WhatIfPreference) {
    Write-Host 'WhatIf: nothing was changed, so there is nothing to test.'
    return
}
$columns = @('RoleName', 'GrantedPermissions', 'AllowedResourceScope', 'InScope')
foreach ($primarySmtp in $primarySmtps) {
    Write-Host "`nTest-ServicePrincipalAuthorization for ${primarySmtp}:"
    $inScope = @(Test-ServicePrincipalAuthorization -Identity $identity.AppId -Resource $primarySmtp)
    $inScope | Format-Table -Property $columns -AutoSize | Out-Host
    foreach ($permission in $permissions) {
        $rows = @($inScope | Where-Object { (Get-Value $_ 'RoleName') -eq "Application $permission" })
        if (-not ($rows | Where-Object { (Get-Value $_ 'InScope') -eq $true })) {
            Write-Warning "'Application $permission' does not (yet) reach $primarySmtp."
        }
    }
}

if ($OtherMailbox) {
    Write-Host "Test-ServicePrincipalAuthorization for ${OtherMailbox} (must not be in scope):"
    $outside = @(Test-ServicePrincipalAuthorization -Identity $identity.AppId -Resource $OtherMailbox)
    $outside | Format-Table -Property $columns -AutoSize | Out-Host
    if ($outside | Where-Object { (Get-Value $_ 'InScope') -eq $true }) {
        Write-Warning "$OtherMailbox is reachable: check the scope filter and other role assignments of this app."
    }
}
