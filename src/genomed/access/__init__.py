"""Users, roles and the permissions every service function checks."""

from genomed.access.roles import ROLE_PERMISSIONS, Permission, Role, permissions_of

__all__ = ["ROLE_PERMISSIONS", "Permission", "Role", "permissions_of"]
