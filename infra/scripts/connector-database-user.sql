-- The connector's managed identity as a user of the CRM database, with the fewest roles it needs:
--   db_datareader, db_datawriter  read and write its rows;
--   db_ddladmin                   create and alter its own tables, because the connector runs its migrations at start.
-- Not db_owner: the connector never manages users, permissions or the database itself.
-- $(IdentityName) is a sqlcmd variable; create-sql-user.sh/.ps1 pass the identity's name (letters, digits, hyphens).
-- Safe to run again: the user is created once, and adding a member a role already has changes nothing.

IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'$(IdentityName)')
    CREATE USER [$(IdentityName)] FROM EXTERNAL PROVIDER;

ALTER ROLE db_datareader ADD MEMBER [$(IdentityName)];
ALTER ROLE db_datawriter ADD MEMBER [$(IdentityName)];
ALTER ROLE db_ddladmin ADD MEMBER [$(IdentityName)];
