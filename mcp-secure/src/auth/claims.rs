//! A token's claims read into its principal, the same way whichever verifier read the token
//! (a JWT's payload, an introspection answer): every member parsed once, none given twice, the
//! verifier's own fields read as a view of them, and the configured tenant claim and attributes
//! read from all of them (a tenant claim may be a member the verifier reads too: `client_id`).

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use super::{Attribute, Attributes, Principal, VerifyError};

/// A token's claims: a JSON object whose members are all distinct. A member given twice
/// refuses the whole (RFC 7519 §4 lets a parser refuse it; taking either copy would let the two
/// readers of one claim see two values).
pub(crate) struct Members(Value);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Distinct;
        impl<'de> serde::de::Visitor<'de> for Distinct {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object with distinct members")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<Members, A::Error> {
                let mut members = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if members.insert(name, value).is_some() {
                        return Err(serde::de::Error::custom("a member is given twice"));
                    }
                }
                Ok(Members(Value::Object(members)))
            }
        }
        deserializer.deserialize_map(Distinct)
    }
}

impl Members {
    /// The members as the verifier's own type `T` reads them (the others left out of it).
    pub fn view<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.0)
    }

    /// Every member.
    pub fn all(&self) -> &Map<String, Value> {
        match &self.0 {
            Value::Object(members) => members,
            // Only `deserialize` makes one, always of an object.
            _ => unreachable!("members of an object"),
        }
    }
}

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
