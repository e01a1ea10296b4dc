//! A token's claims read into its principal, the same way whichever verifier read the token
//! (a JWT's payload, an introspection answer): the configured tenant claim and attributes.

use serde_json::{Map, Value};

use super::{Attribute, Attributes, Principal, VerifyError};

/// What a verifier reads from claims past the standard ones.
#[derive(Clone, Default)]
pub(crate) struct ClaimMap {
    /// The claim that names the caller's tenant, if one is configured.
    pub tenant: Option<String>,
    /// The claims read into the caller's attributes.
    pub attributes: Attributes,
}

impl ClaimMap {
    /// `principal` with the tenant and attributes `claims` hold; a claim present but not of its
    /// kind, or refused by the checks ([`check_tenant`](super::check_tenant),
    /// [`check_attribute`](super::check_attribute)), refuses the token. A claim absent or
    /// `null` leaves the principal without it.
    pub fn apply(
        &self,
        mut principal: Principal,
        claims: &Map<String, Value>,
    ) -> Result<Principal, VerifyError> {
        if let Some(claim) = &self.tenant {
            match claims.get(claim) {
                None | Some(Value::Null) => {}
                Some(Value::String(tenant)) => {
                    principal = principal.with_tenant(tenant).map_err(|_| {
                        VerifyError::new("token's tenant claim is not a tenant name (1 to 256 bytes, no control or invisible characters)")
                    })?;
                }
                Some(_) => return Err(VerifyError::new("token's tenant claim is not a string")),
            }
        }
        for (name, kind) in self.attributes.iter() {
            match claims.get(name) {
                None | Some(Value::Null) => {}
                Some(claim) => {
                    let value = Attribute::from_claim(kind, claim).ok_or_else(|| {
                        VerifyError::new(format!(
                            "token's `{name}` claim is not a {kind} attribute (texts of 1 to 256 bytes without control or invisible characters, at most 64 in a list)"
                        ))
                    })?;
                    principal = principal.with_checked_attribute(name, value);
                }
            }
        }
        Ok(principal)
    }
}
