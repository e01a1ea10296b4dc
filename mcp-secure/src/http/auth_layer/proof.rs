//! The DPoP side of authentication (RFC 9449 §7): which schemes a server takes, and a token's
//! binding to the key that signed the request's proof.

use super::{
    bearer::{Failure, InvalidToken, Scheme, authenticate},
    *,
};
#[cfg(feature = "dpop")]
use crate::http::dpop::{DpopFailure, DpopMode, normalize_htu, proof_header};

/// The schemes a server's `401` offers.
pub(super) struct Offers {
    pub(super) bearer: bool,
    /// The `algs` of the `DPoP` challenge; `None` when DPoP is off.
    pub(super) dpop_algs: Option<String>,
}

#[cfg(feature = "dpop")]
pub(super) fn offers(config: &Config) -> Offers {
    Offers {
        bearer: config.dpop.mode() != DpopMode::Required,
        dpop_algs: (config.dpop.mode() != DpopMode::Off).then(|| config.dpop.algorithm_names()),
    }
}

/// Without the `jwt` feature no proof can be checked: bearer tokens only.
#[cfg(not(feature = "dpop"))]
pub(super) fn offers(_config: &Config) -> Offers {
    Offers {
        bearer: true,
        dpop_algs: None,
    }
}

/// Why a presented token was not accepted.
pub(super) enum NotAuthenticated {
    /// Refused: answered with a `401` that says what was wrong.
    Refused(Failure),
    /// Something that might have accepted it could not decide: a `503`.
    Undecided,
}

/// The protected resource metadata's DPoP members (RFC 9728 §2): the algorithms, and whether
/// only DPoP-bound tokens are taken.
#[cfg(feature = "dpop")]
pub(super) fn metadata(builder: &AuthLayerBuilder) -> serde_json::Map<String, Value> {
    let mut members = serde_json::Map::new();
    if builder.dpop.mode() != DpopMode::Off {
        members.insert(
            "dpop_signing_alg_values_supported".into(),
            json!(builder.dpop.algorithm_values()),
        );
    }
    if builder.dpop.mode() == DpopMode::Required {
        members.insert("dpop_bound_access_tokens_required".into(), json!(true));
    }
    members
}

#[cfg(not(feature = "dpop"))]
pub(super) fn metadata(_builder: &AuthLayerBuilder) -> serde_json::Map<String, Value> {
    serde_json::Map::new()
}

/// The principal of `token`, presented with `scheme`: the verifiers' answer, and for DPoP the
/// proof, checked before any verifier is asked (a bad proof costs no introspection) and
/// recorded last (a refused request does not spend its `jti`).
pub(super) async fn authenticate_presented(
    config: &Config,
    request: &http::request::Parts,
    scheme: Scheme,
    token: &str,
    client: Option<std::net::IpAddr>,
) -> Result<Principal, NotAuthenticated> {
    let path = request.uri.path();
    let refuse = |failure: Failure, reason: &str| {
        config.emit(&SecurityEvent::AuthenticationFailed {
            reason,
            path,
            client,
        });
        NotAuthenticated::Refused(failure)
    };
    #[cfg(feature = "dpop")]
    let proof = match (scheme, config.dpop.mode()) {
        (Scheme::Dpop, DpopMode::Off) => {
            return Err(refuse(
                Failure::Token(Scheme::Dpop),
                "DPoP: the DPoP scheme is off on this server",
            ));
        }
        (Scheme::Dpop, _) => {
            let proof = proof_header(&request.headers)
                .and_then(|p| p.ok_or(crate::http::ProofError::Missing))
                .and_then(|p| {
                    config.dpop.check(
                        p,
                        request.method.as_str(),
                        &request_uris(config, request),
                        Some(token),
                    )
                });
            match proof {
                Ok(proof) => Some(proof),
                Err(e @ crate::http::ProofError::Nonce) => {
                    return Err(refuse(Failure::Nonce, &format!("DPoP: {e}")));
                }
                Err(e) => return Err(refuse(Failure::Proof, &format!("DPoP: {e}"))),
            }
        }
        (Scheme::Bearer, DpopMode::Required) => {
            return Err(refuse(
                Failure::Token(Scheme::Bearer),
                "DPoP: a bearer token where this server requires DPoP",
            ));
        }
        (Scheme::Bearer, _) => None,
    };
    #[cfg(not(feature = "dpop"))]
    let proof: Option<CheckedProof> = match scheme {
        Scheme::Dpop => {
            return Err(refuse(
                Failure::Token(Scheme::Dpop),
                "DPoP: this server is built without DPoP (the `jwt` feature)",
            ));
        }
        Scheme::Bearer => None,
    };
    let principal = match authenticate(config, token, path, client).await {
        Ok(principal) => principal,
        Err(InvalidToken::Refused) => {
            return Err(NotAuthenticated::Refused(Failure::Token(scheme)));
        }
        Err(InvalidToken::Undecided) => return Err(NotAuthenticated::Undecided),
    };
    match (proof, principal.bound_key()) {
        (None, None) => Ok(principal),
        // Only a bearer token comes without a proof.
        (None, Some(_)) => Err(refuse(
            Failure::Token(Scheme::Bearer),
            "DPoP: a DPoP-bound token sent as a bearer token",
        )),
        (Some(_), None) => Err(refuse(
            Failure::Token(Scheme::Dpop),
            "DPoP: the DPoP scheme with a token that is not bound to a key",
        )),
        (Some(proof), Some(jkt)) => match confirm(config, proof, jkt).await {
            Ok(()) => Ok(principal),
            Err(Unconfirmed::Refused(reason)) => Err(refuse(Failure::Proof, &reason)),
            Err(Unconfirmed::Undecided(reason)) => {
                config.emit(&SecurityEvent::AuthenticationFailed {
                    reason: &reason,
                    path,
                    client,
                });
                Err(NotAuthenticated::Undecided)
            }
        },
    }
}

#[cfg(feature = "dpop")]
type CheckedProof = crate::http::dpop::Proof;

/// No proof is ever checked without the `jwt` feature.
#[cfg(not(feature = "dpop"))]
type CheckedProof = std::convert::Infallible;

/// Why a checked proof did not confirm its token, for the audit log.
#[cfg_attr(not(feature = "dpop"), allow(dead_code))]
enum Unconfirmed {
    Refused(String),
    Undecided(String),
}

/// Whether `proof`'s key is the one the token is bound to (`jkt`), and its `jti` new.
#[cfg(feature = "dpop")]
async fn confirm(config: &Config, proof: CheckedProof, jkt: &str) -> Result<(), Unconfirmed> {
    if proof.jkt != jkt {
        return Err(Unconfirmed::Refused(format!(
            "DPoP: {}",
            crate::http::ProofError::KeyMismatch
        )));
    }
    match config.dpop.first_use(&proof).await {
        Ok(()) => Ok(()),
        Err(DpopFailure::Refused(e)) => Err(Unconfirmed::Refused(format!("DPoP: {e}"))),
        Err(DpopFailure::Unavailable(e)) => Err(Unconfirmed::Undecided(e.to_string())),
    }
}

#[cfg(not(feature = "dpop"))]
async fn confirm(_config: &Config, proof: CheckedProof, _jkt: &str) -> Result<(), Unconfirmed> {
    match proof {}
}

/// The URI a request's proof must name in its `htu`, normalized: the resource URL's origin with
/// the request's path. Never the request's `Host`: the allowed hosts may take the resource's
/// host on any port (loopback), and a proof made for another service there would pass.
#[cfg(feature = "dpop")]
fn request_uris(config: &Config, request: &http::request::Parts) -> Vec<String> {
    normalize_htu(&format!("{}{}", config.resource_origin, request.uri.path()))
        .into_iter()
        .collect()
}
