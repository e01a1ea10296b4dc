//! The tenant a caller acts for, as its issuer vouched: what rows of a tenant-owned table
//! (`[package.metadata.mcp-secure.owned-tables] projects = { tenant = "tenant" }`) are keyed by.

use std::fmt;

/// A tenant name's longest form, in bytes.
pub const MAX_TENANT_LEN: usize = 256;

/// Why a tenant name was refused by [`check_tenant`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantError {
    message: &'static str,
}

impl fmt::Display for TenantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for TenantError {}

/// Checks a tenant name as an input is checked: 1 to [`MAX_TENANT_LEN`] bytes, no control or
/// invisible characters (a tenant is shown in audit lines and compared byte for byte).
///
/// ```
/// use mcp_secure::auth::check_tenant;
/// assert!(check_tenant("acme").is_ok());
/// assert!(check_tenant("").is_err());
/// assert!(check_tenant("ac\u{202e}me").is_err());
/// ```
pub fn check_tenant(name: &str) -> Result<(), TenantError> {
    let err = |message| Err(TenantError { message });
    if name.is_empty() || name.len() > MAX_TENANT_LEN {
        return err("a tenant has 1 to 256 bytes");
    }
    if name
        .chars()
        .any(|c| c.is_control() || crate::sanitize::is_invisible(c))
    {
        return err("a tenant has no control or invisible characters");
    }
    Ok(())
}

/// The key a tenant-owned row holds for a caller: `issuer#tenant`, so that two issuers' `acme`
/// are two tenants; a caller with no tenant is `issuer#` (a tenant of its own per issuer, which
/// no named tenant equals).
pub(crate) fn tenant_key(issuer: &str, tenant: Option<&str>) -> String {
    format!("{issuer}#{}", tenant.unwrap_or_default())
}
