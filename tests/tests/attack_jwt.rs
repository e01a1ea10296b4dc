//! An outside attack on JWT verification: ring as `jsonwebtoken`'s provider
//! (`auth/jwt_crypto.rs`) and PEM keys read by `auth/key_pem.rs`. Whole classes: algorithm
//! confusion, signature encodings, keys ring should never take, PEM parsing, the process-wide
//! provider, and forged tokens over HTTP at the demo (`--issuer`) in front of a loopback
//! identity provider of ours. Each probe asserts the secure behaviour: a probe that fails found
//! a break.

mod common;

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use jsonwebtoken::{EncodingKey, jwk::AlgorithmParameters};
use mcp_secure::{
    auth::{JwtAlgorithm as Alg, JwtConfigErrorKind, JwtVerifier, TokenVerifier},
    secret::SecretString,
};
use serde_json::{Value, json};

const ISS: &str = "https://idp.attack.example";
const AUD: &str = "https://mcp.attack.example/mcp";

// ---------------------------------------------------------------------------------------------
// Keys, tokens and DER, made here.
// ---------------------------------------------------------------------------------------------

fn key_file(file: &str) -> Vec<u8> {
    let path = format!(
        "{}/../mcp-secure/tests/keys/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims_for(aud: &str) -> Value {
    json!({"iss": ISS, "aud": aud, "sub": "mallory", "exp": now() + 600, "scope": "notes:read"})
}

fn claims() -> Value {
    claims_for(AUD)
}

/// The private key in `file` for `alg`.
fn private(file: &str, alg: Alg) -> EncodingKey {
    let pem = key_file(file);
    match alg {
        Alg::ES256 | Alg::ES384 => EncodingKey::from_ec_pem(&pem).unwrap(),
        Alg::EdDSA => EncodingKey::from_ed_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    }
}

/// A token of `header` and `claims` with `signature` (raw bytes) as its third part.
fn with_signature(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string()),
        b64(claims.to_string()),
        b64(signature)
    )
}

/// `header` and `claims` signed with `key` by `alg` (whatever the header says).
fn signed(key: &EncodingKey, alg: Alg, header: &Value, claims: &Value) -> String {
    mcp_secure::auth::install_jwt_crypto();
    let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

fn header(alg: &str) -> Value {
    json!({"alg": alg, "typ": "JWT"})
}

/// A good token of `file`'s key for `alg`, with `claims`.
fn good(file: &str, alg: Alg, claims: &Value) -> String {
    signed(
        &private(file, alg),
        alg,
        &header(&format!("{alg:?}")),
        claims,
    )
}

/// The public half of the private key in `file`, as jsonwebtoken's JWK members.
fn public(file: &str, alg: Alg) -> AlgorithmParameters {
    mcp_secure::auth::install_jwt_crypto();
    jsonwebtoken::jwk::Jwk::from_encoding_key(&private(file, alg), alg)
        .unwrap()
        .algorithm
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        len @ 0..=0x7f => out.push(len as u8),
        len @ 0x80..=0xff => out.extend([0x81, len as u8]),
        len => out.extend([0x82, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(content);
    out
}

fn int(bytes: &[u8]) -> Vec<u8> {
    let mut value = Vec::new();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(bytes);
    der(0x02, &value)
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn spki(identifier: &[u8], key: &[u8]) -> Vec<u8> {
    let mut bits = vec![0];
    bits.extend_from_slice(key);
    seq(&[identifier.to_vec(), der(0x03, &bits)])
}

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let text = STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
    .into_bytes()
}

// The AlgorithmIdentifiers of RFC 3279, 5480, 8410, and some that are not a JWT key's.
const OID_EC: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_SECP256K1: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];
const OID_RSA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
const OID_RSA_PSS: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const OID_X25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x6e];
const NULL: &[u8] = &[0x05, 0x00];

fn rsa_id() -> Vec<u8> {
    seq(&[OID_RSA.to_vec(), NULL.to_vec()])
}

fn ec_id(curve: &[u8]) -> Vec<u8> {
    seq(&[OID_EC.to_vec(), curve.to_vec()])
}

fn ed_id() -> Vec<u8> {
    seq(&[OID_ED25519.to_vec()])
}

fn rsa_pem(n: &[u8], e: &[u8]) -> Vec<u8> {
    pem("PUBLIC KEY", &spki(&rsa_id(), &seq(&[int(n), int(e)])))
}

/// The uncompressed point of an EC key's JWK members.
fn point(params: &AlgorithmParameters) -> Vec<u8> {
    let AlgorithmParameters::EllipticCurve(ec) = params else {
        panic!("not an EC key")
    };
    [vec![4], unb64(&ec.x), unb64(&ec.y)].concat()
}

/// One DER element: its tag, its contents, and what follows (lengths up to 65 535).
fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let (len, at) = match input[1] {
        0x81 => (usize::from(input[2]), 3),
        0x82 => (usize::from(input[2]) << 8 | usize::from(input[3]), 4),
        len => (usize::from(len), 2),
    };
    (input[0], &input[at..at + len], &input[at + len..])
}

/// The modulus and exponent of the PKCS #8 RSA private key in `file`, read here: ring, which
/// signs for these probes, does not load keys under 2 048 bits.
fn rsa_private_parts(file: &str) -> (Vec<u8>, Vec<u8>) {
    let text = String::from_utf8(key_file(file)).unwrap();
    let der = STANDARD
        .decode(
            text.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let (_, info, _) = tlv(&der);
    let (_, _, rest) = tlv(info); // version
    let (_, _, rest) = tlv(rest); // algorithm
    let (_, octets, _) = tlv(rest);
    let (_, key, _) = tlv(octets);
    let (_, _, rest) = tlv(key); // version
    let (_, n, rest) = tlv(rest);
    let (_, e, _) = tlv(rest);
    let strip = |v: &[u8]| v.strip_prefix(&[0]).unwrap_or(v).to_vec();
    (strip(n), strip(e))
}

fn rsa_parts(params: &AlgorithmParameters) -> (Vec<u8>, Vec<u8>) {
    let AlgorithmParameters::RSA(rsa) = params else {
        panic!("not an RSA key")
    };
    (unb64(&rsa.n), unb64(&rsa.e))
}

fn pem_verifier(alg: Alg, pem: &[u8]) -> JwtVerifier {
    JwtVerifier::public_key_pem(alg, pem, ISS, AUD).unwrap()
}

/// The subject a token passes as, or the reason it is refused.
async fn verdict(verifier: &JwtVerifier, token: &str) -> Result<String, String> {
    match verifier.verify(token).await {
        Ok(principal) => Ok(principal.subject().to_owned()),
        Err(e) => {
            let reason = e.reason().to_owned();
            for part in token.split('.').filter(|p| p.len() > 8) {
                assert!(
                    !reason.contains(part),
                    "the reason {reason:?} quotes the token"
                );
            }
            Err(reason)
        }
    }
}

async fn assert_refused(verifier: &JwtVerifier, token: &str, reasons: &[&str], what: &str) {
    match verdict(verifier, token).await {
        Ok(subject) => panic!("{what}: accepted as {subject}"),
        Err(reason) => assert!(
            reasons.contains(&reason.as_str()),
            "{what}: refused as {reason:?}, not one of {reasons:?}"
        ),
    }
}

/// A construction refused with `kind`, whose message neither panics nor quotes the key.
fn assert_key_refused(
    built: Result<JwtVerifier, mcp_secure::auth::JwtConfigError>,
    kinds: &[JwtConfigErrorKind],
    what: &str,
) -> String {
    match built {
        Ok(_) => panic!("{what}: the verifier was built"),
        Err(e) => {
            assert!(kinds.contains(&e.kind()), "{what}: {:?}: {e}", e.kind());
            e.to_string()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Algorithm confusion.
// ---------------------------------------------------------------------------------------------

/// A token whose `alg` is HMAC, keyed by every byte string the attacker can read of the
/// verifier's public key (the PEM text, its DER, the bare key), is refused by every asymmetric
/// verifier; so is one signed by the right key under a sibling algorithm (RS/PS, ES256/ES384).
#[tokio::test]
async fn an_alg_other_than_the_keys_is_refused() {
    let cases = [
        ("rsa_public.pem", "rsa_private.pem", Alg::RS256),
        ("rsa_public.pem", "rsa_private.pem", Alg::PS256),
        ("ec_public.pem", "ec_private.pem", Alg::ES256),
        ("ed_public.pem", "ed_private.pem", Alg::EdDSA),
    ];
    for (public_file, private_file, alg) in cases {
        let public_pem = key_file(public_file);
        let verifier = pem_verifier(alg, &public_pem);
        assert_eq!(
            verdict(&verifier, &good(private_file, alg, &claims())).await,
            Ok("mallory".into()),
            "{alg:?}: the right token"
        );
        let spki_der = STANDARD
            .decode(
                String::from_utf8(public_pem.clone())
                    .unwrap()
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        let secrets = [
            public_pem.clone(),
            spki_der.clone(),
            spki_der[24..].to_vec(),
        ];
        for hs in [Alg::HS256, Alg::HS384, Alg::HS512] {
            for secret in &secrets {
                let token = signed(
                    &EncodingKey::from_secret(secret),
                    hs,
                    &header(&format!("{hs:?}")),
                    &claims(),
                );
                assert_refused(
                    &verifier,
                    &token,
                    &["algorithm not allowed"],
                    &format!("{hs:?} keyed with {alg:?}'s public key"),
                )
                .await;
            }
        }
        // The right key, another algorithm of its family, named honestly in the header.
        let siblings: &[Alg] = match alg {
            Alg::RS256 => &[Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS512],
            Alg::PS256 => &[Alg::RS256, Alg::PS384],
            _ => &[],
        };
        for &sibling in siblings {
            let token = good(private_file, sibling, &claims());
            assert_refused(
                &verifier,
                &token,
                &["algorithm not allowed"],
                &format!("{sibling:?} to {alg:?}"),
            )
            .await;
            // The sibling's signature under the verifier's own `alg`.
            let token = signed(
                &private(private_file, sibling),
                sibling,
                &header(&format!("{alg:?}")),
                &claims(),
            );
            assert_refused(
                &verifier,
                &token,
                &["bad signature"],
                &format!("{sibling:?} as {alg:?}"),
            )
            .await;
        }
    }
    // ES384's key and signature to an ES256 verifier, and the reverse.
    let p384 = point(&public("ec384_private.pem", Alg::ES384));
    let es384 = pem_verifier(
        Alg::ES384,
        &pem("PUBLIC KEY", &spki(&ec_id(OID_P384), &p384)),
    );
    let es256 = pem_verifier(Alg::ES256, &key_file("ec_public.pem"));
    let token384 = good("ec384_private.pem", Alg::ES384, &claims());
    let token256 = good("ec_private.pem", Alg::ES256, &claims());
    assert!(verdict(&es384, &token384).await.is_ok());
    assert_refused(
        &es256,
        &token384,
        &["algorithm not allowed"],
        "ES384 to ES256",
    )
    .await;
    assert_refused(
        &es384,
        &token256,
        &["algorithm not allowed"],
        "ES256 to ES384",
    )
    .await;
}

/// `alg: none` in every spelling, lowercase names, and algorithms nobody configured: refused,
/// with or without a signature.
#[tokio::test]
async fn none_lowercase_and_unknown_algs_are_refused() {
    let rsa = pem_verifier(Alg::RS256, &key_file("rsa_public.pem"));
    let hs = JwtVerifier::hs256(
        SecretString::new("a-secret-of-at-least-32-bytes-long!".into()),
        ISS,
        AUD,
    )
    .unwrap();
    let real = good("rsa_private.pem", Alg::RS256, &claims());
    let real_signature = unb64(real.rsplit('.').next().unwrap());
    let names = [
        "none",
        "None",
        "NONE",
        "nOnE",
        "",
        "rs256",
        "Rs256",
        "hs256",
        "RS256 ",
        " RS256",
        "ES512",
        "HS1",
        "RSA-OAEP",
        "EdDSA\u{0}",
        "PS256\u{200b}",
    ];
    for name in names {
        for signature in [&[][..], &real_signature] {
            for verifier in [&rsa, &hs] {
                let token = with_signature(&header(name), &claims(), signature);
                assert_refused(
                    verifier,
                    &token,
                    &[
                        "malformed token",
                        "algorithm not allowed",
                        "unsupported algorithm",
                    ],
                    &format!("alg {name:?}"),
                )
                .await;
            }
        }
        // And with no third part at all.
        let token = format!(
            "{}.{}",
            b64(header(name).to_string()),
            b64(claims().to_string())
        );
        assert_refused(&rsa, &token, &["malformed token"], "two parts").await;
    }
    // A header naming its algorithm twice.
    let message = format!(
        "{}.{}",
        b64(r#"{"alg":"RS256","alg":"none"}"#),
        b64(claims().to_string())
    );
    let twice = format!("{message}.{}", real.rsplit('.').next().unwrap());
    assert_refused(&rsa, &twice, &["malformed token"], "alg twice").await;
}

/// A JWK Set holding keys of several kinds: a token whose `kid` names one key and whose `alg`
/// is another key's (signed with that other key, or with the named key's public bytes as an
/// HMAC secret) is refused.
#[tokio::test]
async fn a_kid_naming_a_key_of_another_kind_is_refused() {
    let set = jwk_set(&[
        jwk("rsa", "RS256", &public("rsa_private.pem", Alg::RS256)),
        jwk("ec", "ES256", &public("ec_private.pem", Alg::ES256)),
        jwk("ed", "EdDSA", &public("ed_private.pem", Alg::EdDSA)),
    ]);
    let verifier = JwtVerifier::jwk_set(&set.to_string(), ISS, AUD).unwrap();
    let files = [
        ("rsa", "rsa_private.pem", Alg::RS256),
        ("ec", "ec_private.pem", Alg::ES256),
        ("ed", "ed_private.pem", Alg::EdDSA),
    ];
    for (kid, file, alg) in files {
        let own = json!({"alg": format!("{alg:?}"), "kid": kid});
        assert_eq!(
            verdict(
                &verifier,
                &signed(&private(file, alg), alg, &own, &claims())
            )
            .await,
            Ok("mallory".into())
        );
        for (other_kid, other_file, other_alg) in files {
            if other_kid == kid {
                continue;
            }
            let header = json!({"alg": format!("{other_alg:?}"), "kid": kid});
            let token = signed(
                &private(other_file, other_alg),
                other_alg,
                &header,
                &claims(),
            );
            assert_refused(
                &verifier,
                &token,
                &["token's algorithm does not match its key's"],
                &format!("{other_alg:?} under kid {kid}"),
            )
            .await;
        }
        let hs = json!({"alg": "HS256", "kid": kid});
        let secret = serde_json::to_vec(&set["keys"]).unwrap();
        let token = signed(
            &EncodingKey::from_secret(&secret),
            Alg::HS256,
            &hs,
            &claims(),
        );
        assert_refused(
            &verifier,
            &token,
            &["token's algorithm does not match its key's"],
            "HS256 under an asymmetric kid",
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Signature encodings.
// ---------------------------------------------------------------------------------------------

/// The order of P-256's group.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The order of Ed25519's group, little-endian.
const ED25519_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a - b`, big-endian, `a >= b`.
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = d.rem_euclid(256) as u8;
    }
    out
}

/// `a + b`, little-endian, 32 bytes (the carry out of the top byte dropped).
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

fn replace_signature(token: &str, signature: &str) -> String {
    let (message, _) = token.rsplit_once('.').unwrap();
    format!("{message}.{signature}")
}

/// Every re-encoding of a good signature is refused: ECDSA's DER form, wrong lengths, zero or
/// out-of-range `r`/`s`; RSA signatures truncated, padded or extended; an Ed25519 `S` plus the
/// group order; base64 with padding, the standard alphabet, other trailing bits, trailing
/// characters. ECDSA's other valid form, `s` replaced by `n - s`, is accepted (JWS does not ask
/// for low `s`, and issuers do not normalize): it passes as the same principal, and nothing in
/// this library is keyed on a JWT's text but DPoP's `ath`, which needs a new proof (the HTTP
/// probe below).
#[tokio::test]
async fn re_encoded_signatures_are_refused() {
    let es = pem_verifier(Alg::ES256, &key_file("ec_public.pem"));
    let token = good("ec_private.pem", Alg::ES256, &claims());
    let signature = unb64(token.rsplit('.').next().unwrap());
    let (r, s) = signature.split_at(32);
    let der_signature = seq(&[int(r), int(s)]);
    let mut encodings: Vec<(String, Vec<u8>)> = vec![
        ("DER".into(), der_signature),
        ("63 bytes".into(), signature[..63].to_vec()),
        ("65 bytes".into(), [&signature[..], &[0]].concat()),
        ("leading zero".into(), [&[0][..], &signature[..]].concat()),
        ("twice".into(), signature.repeat(2)),
        ("empty".into(), vec![]),
        ("r = 0".into(), [&[0; 32][..], s].concat()),
        ("s = 0".into(), [r, &[0; 32][..]].concat()),
        ("r = n".into(), [&P256_N[..], s].concat()),
        ("s = n".into(), [r, &P256_N[..]].concat()),
        ("r, s swapped".into(), [s, r].concat()),
    ];
    for (what, bytes) in encodings.drain(..) {
        let forged = replace_signature(&token, &b64(&bytes));
        assert_refused(&es, &forged, &["bad signature", "malformed token"], &what).await;
    }
    // The other valid form of the same signature.
    let high_s = [r, &sub_be(&P256_N, s)[..]].concat();
    let malleated = replace_signature(&token, &b64(&high_s));
    assert_ne!(malleated, token);
    assert_eq!(verdict(&es, &malleated).await, Ok("mallory".into()));

    // RSA.
    let rs = pem_verifier(Alg::RS256, &key_file("rsa_public.pem"));
    let token = good("rsa_private.pem", Alg::RS256, &claims());
    let signature = unb64(token.rsplit('.').next().unwrap());
    for (what, bytes) in [
        ("one byte short", signature[1..].to_vec()),
        ("leading zero", [&[0][..], &signature[..]].concat()),
        ("trailing zero", [&signature[..], &[0]].concat()),
        ("last byte changed", {
            let mut s = signature.clone();
            *s.last_mut().unwrap() ^= 1;
            s
        }),
        ("all zero", vec![0; signature.len()]),
        ("all ones", vec![0xff; signature.len()]),
    ] {
        let forged = replace_signature(&token, &b64(&bytes));
        assert_refused(&rs, &forged, &["bad signature"], what).await;
    }

    // Ed25519: S + L is the same S modulo L.
    let ed = pem_verifier(Alg::EdDSA, &key_file("ed_public.pem"));
    let token = good("ed_private.pem", Alg::EdDSA, &claims());
    let signature = unb64(token.rsplit('.').next().unwrap());
    let (big_r, big_s) = signature.split_at(32);
    let s_plus_l = [big_r, &add_le(big_s, &ED25519_L)[..]].concat();
    let forged = replace_signature(&token, &b64(&s_plus_l));
    assert_refused(&ed, &forged, &["bad signature"], "S + L").await;

    // Base64 spellings of a good signature, and of the other parts.
    for (verifier, token) in [
        (&es, good("ec_private.pem", Alg::ES256, &claims())),
        (&rs, good("rsa_private.pem", Alg::RS256, &claims())),
        (&ed, good("ed_private.pem", Alg::EdDSA, &claims())),
    ] {
        let (message, sig) = token.rsplit_once('.').unwrap();
        let bytes = unb64(sig);
        let mut respelled = vec![
            format!("{message}.{}", URL_SAFE.encode(&bytes)),
            format!("{message}.{}", STANDARD.encode(&bytes)),
            format!("{message}.{sig}="),
            format!("{message}.{sig}A"),
            format!("{message}.{sig}."),
            format!("{message}.{sig} "),
            format!("{message}. {sig}"),
            format!("{message}.{sig}.{sig}"),
            format!("{token}\n"),
            format!(" {token}"),
            format!("{message}..{sig}"),
        ];
        // Other trailing bits in the last character: the same bytes to a lax decoder.
        let last = sig.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        for other in alphabet.chars() {
            let candidate = format!("{}{other}", &sig[..sig.len() - 1]);
            if other != last
                && alphabet.find(other).unwrap() >> 4 == index >> 4
                && URL_SAFE_NO_PAD.decode(&candidate).is_err()
            {
                respelled.push(format!("{message}.{candidate}"));
            }
        }
        // The payload with padding.
        let (head, payload) = message.split_once('.').unwrap();
        respelled.push(format!("{head}.{payload}=.{sig}"));
        respelled.push(format!("{head}=.{payload}.{sig}"));
        for forged in respelled {
            assert_ne!(forged, token);
            assert_refused(
                verifier,
                &forged,
                &["malformed token", "bad signature"],
                &format!("{forged:?}"),
            )
            .await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Keys ring should never take, as PEM and as JWK.
// ---------------------------------------------------------------------------------------------

/// The encodings of Ed25519's points of small order (y, little-endian, sign bit clear).
fn small_order_points() -> Vec<[u8; 32]> {
    // The neutral point first: the forgery below works on it for every message.
    let mut points = vec![[0u8; 32], [0u8; 32]];
    points[0][0] = 1;
    points.push(
        hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
            .try_into()
            .unwrap(),
    );
    points.push(
        hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
            .try_into()
            .unwrap(),
    );
    for low in [0xec, 0xed, 0xee] {
        let mut y = [0xff; 32];
        y[0] = low;
        y[31] = 0x7f;
        points.push(y);
    }
    points
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// An Ed25519 public key of small order is refused, as PEM and as JWK: with the neutral point
/// as the key, `R` = the neutral point and `S` = 0 is a signature of every message, and ring
/// accepts it.
#[tokio::test]
async fn ed25519_keys_of_small_order_are_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let forged = with_signature(&header("EdDSA"), &claims(), &[identity, [0; 32]].concat());
    let forged_kid = with_signature(
        &json!({"alg": "EdDSA", "kid": "small"}),
        &claims(),
        &[identity, [0; 32]].concat(),
    );
    for point in small_order_points() {
        let mut signed_point = point;
        signed_point[31] |= 0x80;
        for key in [point, signed_point] {
            let spki_pem = pem("PUBLIC KEY", &spki(&ed_id(), &key));
            let built = JwtVerifier::public_key_pem(Alg::EdDSA, &spki_pem, ISS, AUD);
            if let Ok(verifier) = &built {
                assert!(
                    verdict(verifier, &forged).await.is_err(),
                    "a forged token passed a small-order PEM key {}",
                    b64(key)
                );
            }
            assert_key_refused(built, &[JwtConfigErrorKind::Key], "small-order PEM key");
            let set =
                json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "small", "x": b64(key)}]});
            let built = JwtVerifier::jwk_set(&set.to_string(), ISS, AUD);
            if let Ok(verifier) = &built {
                assert!(
                    verdict(verifier, &forged_kid).await.is_err(),
                    "a forged token passed a small-order JWK {}",
                    b64(key)
                );
            }
            assert_key_refused(built, &[JwtConfigErrorKind::JwkSet], "small-order JWK");
        }
    }
}

/// RSA keys outside what ring verifies with (fewer than 2 048 bits, more than 8 192, an even
/// modulus, an exponent of 1, even, or above 2^33 - 1) are refused when the verifier is built,
/// not by a `bad signature` on every token; so are EC keys off their curve, compressed, or the
/// point at infinity, and Ed25519 keys of the wrong length.
#[tokio::test]
async fn keys_ring_never_verifies_with_are_refused_at_construction() {
    let (n, e) = rsa_parts(&public("rsa_private.pem", Alg::RS256));
    // A real 1 024-bit key, whose tokens the verifier could never take.
    let (n1024, e1024) = rsa_private_parts("rsa1024_private.pem");
    assert_eq!(n1024.len(), 128);
    let odd = |bits: usize| {
        let mut n = vec![0xff; bits.div_ceil(8)];
        n[0] = 0xff >> ((8 - bits % 8) % 8);
        n
    };
    let mut even = n.clone();
    *even.last_mut().unwrap() &= 0xfe;
    let rsa_cases: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        ("1024 bits", n1024.clone(), e1024.clone()),
        ("2047 bits", odd(2047), e.clone()),
        ("8200 bits", odd(8200), e.clone()),
        ("even modulus", even, e.clone()),
        ("e = 1", n.clone(), vec![1]),
        ("e = 2", n.clone(), vec![2]),
        ("e = 65536", n.clone(), vec![1, 0, 0]),
        ("e = 2^33 + 1", n.clone(), vec![2, 0, 0, 0, 1]),
        ("e of 64 bits", n.clone(), vec![0x7f; 8]),
    ];
    for (what, n, e) in &rsa_cases {
        for alg in [Alg::RS256, Alg::PS512] {
            assert_key_refused(
                JwtVerifier::public_key_pem(alg, &rsa_pem(n, e), ISS, AUD),
                &[JwtConfigErrorKind::Key],
                &format!("PEM {what} for {alg:?}"),
            );
        }
        let set =
            jwk_set(&[json!({"kty": "RSA", "kid": "k", "alg": "RS256", "n": b64(n), "e": b64(e)})]);
        assert_key_refused(
            JwtVerifier::jwk_set(&set.to_string(), ISS, AUD),
            &[JwtConfigErrorKind::JwkSet],
            &format!("JWK {what}"),
        );
    }
    // The good key, rebuilt here, is taken (the probe's DER is right), and a leading zero in
    // a JWK's `n` changes nothing.
    let verifier = pem_verifier(Alg::RS256, &rsa_pem(&n, &e));
    let token = good("rsa_private.pem", Alg::RS256, &claims());
    assert_eq!(verdict(&verifier, &token).await, Ok("mallory".into()));
    let padded = [&[0][..], &n].concat();
    let set = jwk_set(&[
        json!({"kty": "RSA", "kid": "k", "alg": "RS256", "n": b64(&padded), "e": b64(&e)}),
    ]);
    let verifier = JwtVerifier::jwk_set(&set.to_string(), ISS, AUD).unwrap();
    let token = signed(
        &private("rsa_private.pem", Alg::RS256),
        Alg::RS256,
        &json!({"alg": "RS256", "kid": "k"}),
        &claims(),
    );
    assert_eq!(verdict(&verifier, &token).await, Ok("mallory".into()));

    // EC.
    let p256 = point(&public("ec_private.pem", Alg::ES256));
    let p384 = point(&public("ec384_private.pem", Alg::ES384));
    let mut off_curve = p256.clone();
    off_curve[64] ^= 1;
    let mut compressed = vec![2 + (p256[64] & 1)];
    compressed.extend_from_slice(&p256[1..33]);
    let ec_cases: Vec<(&str, Alg, Vec<u8>)> = vec![
        ("off the curve", Alg::ES256, off_curve),
        ("compressed", Alg::ES256, compressed),
        ("infinity", Alg::ES256, vec![0]),
        ("zeros", Alg::ES256, [&[4][..], &[0; 64]].concat()),
        (
            "hybrid form",
            Alg::ES256,
            [&[6 + (p256[64] & 1)][..], &p256[1..]].concat(),
        ),
        ("P-384 point as P-256", Alg::ES256, p384.clone()),
        ("P-256 point as P-384", Alg::ES384, p256.clone()),
        (
            "a point with a byte more",
            Alg::ES256,
            [&p256[..], &[0]].concat(),
        ),
    ];
    for (what, alg, key) in &ec_cases {
        let curve = if *alg == Alg::ES256 {
            OID_P256
        } else {
            OID_P384
        };
        assert_key_refused(
            JwtVerifier::public_key_pem(
                *alg,
                &pem("PUBLIC KEY", &spki(&ec_id(curve), key)),
                ISS,
                AUD,
            ),
            &[JwtConfigErrorKind::Key],
            &format!("PEM EC {what}"),
        );
    }
    // The same, as JWKs: coordinates off the curve, and coordinates of another curve.
    let coordinates = |p: &[u8]| {
        let half = (p.len() - 1) / 2;
        (b64(&p[1..1 + half]), b64(&p[1 + half..]))
    };
    let mut off_curve = p256.clone();
    off_curve[64] ^= 1;
    let (x, y) = coordinates(&off_curve);
    let (x384, y384) = coordinates(&p384);
    for (what, key) in [
        (
            "off the curve",
            json!({"kty": "EC", "crv": "P-256", "kid": "k", "alg": "ES256", "x": x, "y": y}),
        ),
        (
            "P-384 coordinates",
            json!({"kty": "EC", "crv": "P-256", "kid": "k", "alg": "ES256", "x": x384, "y": y384}),
        ),
    ] {
        assert_key_refused(
            JwtVerifier::jwk_set(&jwk_set(&[key]).to_string(), ISS, AUD),
            &[JwtConfigErrorKind::JwkSet],
            &format!("JWK EC {what}"),
        );
    }

    // Ed25519 of the wrong length.
    for len in [0, 31, 33, 57] {
        let key = vec![9; len];
        if len > 0 {
            assert_key_refused(
                JwtVerifier::public_key_pem(
                    Alg::EdDSA,
                    &pem("PUBLIC KEY", &spki(&ed_id(), &key)),
                    ISS,
                    AUD,
                ),
                &[JwtConfigErrorKind::Key],
                &format!("PEM Ed25519 of {len} bytes"),
            );
        }
        let set = jwk_set(&[json!({"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": b64(&key)})]);
        assert_key_refused(
            JwtVerifier::jwk_set(&set.to_string(), ISS, AUD),
            &[JwtConfigErrorKind::JwkSet],
            &format!("JWK Ed25519 of {len} bytes"),
        );
    }
}

fn jwk(kid: &str, alg: &str, params: &AlgorithmParameters) -> Value {
    let mut key = serde_json::to_value(params).unwrap();
    key["kid"] = kid.into();
    key["alg"] = alg.into();
    key
}

fn jwk_set(keys: &[Value]) -> Value {
    json!({ "keys": keys })
}

/// JWK Sets as issuers publish them, and as an attacker would like them: a key marked for
/// encryption (`use: enc`, `key_ops` without `verify`, an encryption `alg`) never verifies a
/// token, and does not spoil the set's signing keys; private members refuse the set; a key
/// whose `kty` or `crv` is not its `alg`'s, or whose coordinates are split at the wrong place,
/// is refused.
#[tokio::test]
async fn jwks_members_decide_what_a_key_may_verify() {
    let rsa = public("rsa_private.pem", Alg::RS256);
    let ec = public("ec_private.pem", Alg::ES256);
    let rsa_token = |kid: &str| {
        signed(
            &private("rsa_private.pem", Alg::RS256),
            Alg::RS256,
            &json!({"alg": "RS256", "kid": kid}),
            &claims(),
        )
    };
    let ec_token = signed(
        &private("ec_private.pem", Alg::ES256),
        Alg::ES256,
        &json!({"alg": "ES256", "kid": "sig"}),
        &claims(),
    );

    // Keys for encryption, next to a signing key: the set is read, the encryption keys are
    // not among its verification keys.
    let mut enc = serde_json::to_value(&rsa).unwrap();
    enc["kid"] = "enc".into();
    enc["use"] = "enc".into();
    let mut ops = serde_json::to_value(&rsa).unwrap();
    ops["kid"] = "ops".into();
    ops["key_ops"] = json!(["encrypt", "wrapKey"]);
    let mut oaep = serde_json::to_value(&rsa).unwrap();
    oaep["kid"] = "oaep".into();
    oaep["alg"] = "RSA-OAEP".into();
    oaep["use"] = "enc".into();
    let sig = jwk("sig", "ES256", &ec);
    let set = jwk_set(&[enc.clone(), ops.clone(), oaep, sig.clone()]);
    let verifier = JwtVerifier::jwk_set(&set.to_string(), ISS, AUD)
        .expect("a set with encryption keys beside its signing key is usable");
    assert_eq!(verdict(&verifier, &ec_token).await, Ok("mallory".into()));
    for kid in ["enc", "ops", "oaep"] {
        assert_refused(
            &verifier,
            &rsa_token(kid),
            &["token names an unknown key"],
            &format!("a token signed by the encryption key {kid}"),
        )
        .await;
    }
    // Encryption keys alone make no set.
    assert_key_refused(
        JwtVerifier::jwk_set(&jwk_set(&[enc, ops]).to_string(), ISS, AUD),
        &[JwtConfigErrorKind::JwkSet],
        "encryption keys only",
    );
    // `use: sig` and `key_ops: ["verify"]` are taken.
    let mut marked = jwk("m", "RS256", &rsa);
    marked["use"] = "sig".into();
    marked["key_ops"] = json!(["verify"]);
    let verifier = JwtVerifier::jwk_set(&jwk_set(&[marked]).to_string(), ISS, AUD).unwrap();
    assert_eq!(
        verdict(&verifier, &rsa_token("m")).await,
        Ok("mallory".into())
    );

    // Private members.
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        let mut leaked = jwk("sig", "ES256", &ec);
        leaked[member] = "AQAB".into();
        let message = assert_key_refused(
            JwtVerifier::jwk_set(&jwk_set(&[leaked]).to_string(), ISS, AUD),
            &[JwtConfigErrorKind::JwkSet],
            &format!("a JWK with `{member}`"),
        );
        assert!(!message.contains("AQAB"), "{message}");
    }

    // `kty`, `crv` and `alg` that do not agree.
    let AlgorithmParameters::EllipticCurve(ec_params) = &ec else {
        unreachable!()
    };
    let AlgorithmParameters::RSA(rsa_params) = &rsa else {
        unreachable!()
    };
    let (x, y) = (unb64(&ec_params.x), unb64(&ec_params.y));
    let misfits = [
        (
            "crv P-384, a P-256 point",
            json!({"kty": "EC", "crv": "P-384", "alg": "ES256", "x": ec_params.x, "y": ec_params.y}),
        ),
        (
            "crv P-521, a P-256 point",
            json!({"kty": "EC", "crv": "P-521", "alg": "ES256", "x": ec_params.x, "y": ec_params.y}),
        ),
        (
            "crv Ed25519 on an EC key",
            json!({"kty": "EC", "crv": "Ed25519", "alg": "ES256", "x": ec_params.x, "y": ec_params.y}),
        ),
        (
            "x of 31 bytes, y of 33",
            json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "x": b64(&x[..31]), "y": b64([&x[31..], &y[..]].concat())}),
        ),
        (
            "x of 33 bytes, y of 31",
            json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "x": b64([&x[..], &y[..1]].concat()), "y": b64(&y[1..])}),
        ),
        (
            "an RSA key for ES256",
            json!({"kty": "RSA", "alg": "ES256", "n": rsa_params.n, "e": rsa_params.e}),
        ),
        (
            "an RSA key for EdDSA",
            json!({"kty": "RSA", "alg": "EdDSA", "n": rsa_params.n, "e": rsa_params.e}),
        ),
        (
            "an EC key for RS256",
            json!({"kty": "EC", "crv": "P-256", "alg": "RS256", "x": ec_params.x, "y": ec_params.y}),
        ),
        (
            "OKP on P-256 for EdDSA",
            json!({"kty": "OKP", "crv": "P-256", "alg": "EdDSA", "x": b64([9u8; 32])}),
        ),
        (
            "OKP on P-256, no alg",
            json!({"kty": "OKP", "crv": "P-256", "x": b64([9u8; 32])}),
        ),
        (
            "an EC key for EdDSA",
            json!({"kty": "EC", "crv": "P-256", "alg": "EdDSA", "x": ec_params.x, "y": ec_params.y}),
        ),
    ];
    for (what, mut key) in misfits {
        key["kid"] = "sig".into();
        let built = JwtVerifier::jwk_set(&jwk_set(&[key]).to_string(), ISS, AUD);
        if let Ok(verifier) = &built {
            // What it does with the real key's token, for the message.
            let _ = verdict(verifier, &ec_token).await;
        }
        assert_key_refused(built, &[JwtConfigErrorKind::JwkSet], what);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. PEM parsing.
// ---------------------------------------------------------------------------------------------

/// Every PEM that is not exactly one SubjectPublicKeyInfo of the algorithm's family and curve
/// fails when the verifier is built, with `Key` (or `Algorithm` for HMAC), quickly, without a
/// panic and without quoting the input.
#[tokio::test]
async fn pem_that_is_not_one_public_key_of_the_algorithm_is_refused() {
    let rsa_public = key_file("rsa_public.pem");
    let ec_public = key_file("ec_public.pem");
    let ed_public = key_file("ed_public.pem");
    let der_of = |pem: &[u8]| {
        STANDARD
            .decode(
                std::str::from_utf8(pem)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap()
    };
    let ec_der = der_of(&ec_public);
    let rsa_der = der_of(&rsa_public);
    let p256 = point(&public("ec_private.pem", Alg::ES256));
    let p384 = point(&public("ec384_private.pem", Alg::ES384));
    let (n, e) = rsa_parts(&public("rsa_private.pem", Alg::RS256));
    let rsa_key = seq(&[int(&n), int(&e)]);

    let mut long_form = vec![0x30, 0x81, ec_der[1]];
    long_form.extend_from_slice(&ec_der[2..]);
    let mut trailing = ec_der.clone();
    trailing.extend_from_slice(&[0, 0]);
    let mut inner_trailing = rsa_key.clone();
    inner_trailing.extend_from_slice(&[2, 1, 1]);
    let mut unused_bits = spki(&ec_id(OID_P256), &p256);
    let bits_at = unused_bits.len() - p256.len() - 1;
    unused_bits[bits_at] = 1;
    let mut indefinite = vec![0x30, 0x80];
    indefinite.extend_from_slice(&ec_der[2..]);
    indefinite.extend_from_slice(&[0, 0]);

    let cases: Vec<(&str, Alg, Vec<u8>)> = vec![
        ("a private key", Alg::ES256, key_file("ec_private.pem")),
        (
            "an RSA private key",
            Alg::RS256,
            key_file("rsa_private.pem"),
        ),
        (
            "PKCS#1 RSA PUBLIC KEY",
            Alg::RS256,
            pem("RSA PUBLIC KEY", &rsa_key),
        ),
        ("a certificate", Alg::ES256, pem("CERTIFICATE", &ec_der)),
        ("EC under an RSA label", Alg::RS256, ec_public.clone()),
        ("Ed25519 for ES256", Alg::ES256, ed_public.clone()),
        ("RSA for EdDSA", Alg::EdDSA, rsa_public.clone()),
        (
            "two keys, the wrong one first",
            Alg::RS256,
            [ec_public.clone(), rsa_public.clone()].concat(),
        ),
        (
            "two keys, the right one first",
            Alg::RS256,
            [rsa_public.clone(), ec_public.clone()].concat(),
        ),
        (
            "two RSA keys",
            Alg::RS256,
            [
                rsa_public.clone(),
                pem("PUBLIC KEY", &spki(&rsa_id(), &rsa_key)),
            ]
            .concat(),
        ),
        (
            "a certificate, then the key",
            Alg::ES256,
            [pem("CERTIFICATE", &ec_der), ec_public.clone()].concat(),
        ),
        (
            "a private key, then the public one",
            Alg::ES256,
            [key_file("ec_private.pem"), ec_public.clone()].concat(),
        ),
        (
            "trailing bytes after the SPKI",
            Alg::ES256,
            pem("PUBLIC KEY", &trailing),
        ),
        (
            "trailing bytes in the RSAPublicKey",
            Alg::RS256,
            pem("PUBLIC KEY", &spki(&rsa_id(), &inner_trailing)),
        ),
        (
            "a long-form length",
            Alg::ES256,
            pem("PUBLIC KEY", &long_form),
        ),
        (
            "an indefinite length",
            Alg::ES256,
            pem("PUBLIC KEY", &indefinite),
        ),
        (
            "unused bits in the key",
            Alg::ES256,
            pem("PUBLIC KEY", &unused_bits),
        ),
        (
            "rsaPSS OID",
            Alg::PS256,
            pem("PUBLIC KEY", &spki(&seq(&[OID_RSA_PSS.to_vec()]), &rsa_key)),
        ),
        (
            "rsaEncryption with other parameters",
            Alg::RS256,
            pem(
                "PUBLIC KEY",
                &spki(&seq(&[OID_RSA.to_vec(), OID_P256.to_vec()]), &rsa_key),
            ),
        ),
        (
            "secp256k1",
            Alg::ES256,
            pem("PUBLIC KEY", &spki(&ec_id(OID_SECP256K1), &p256)),
        ),
        (
            "ecPublicKey without a curve",
            Alg::ES256,
            pem("PUBLIC KEY", &spki(&seq(&[OID_EC.to_vec()]), &p256)),
        ),
        (
            "X25519 for EdDSA",
            Alg::EdDSA,
            pem("PUBLIC KEY", &spki(&seq(&[OID_X25519.to_vec()]), &[9; 32])),
        ),
        (
            "Ed25519 with NULL parameters",
            Alg::EdDSA,
            pem(
                "PUBLIC KEY",
                &spki(&seq(&[OID_ED25519.to_vec(), NULL.to_vec()]), &[9; 32]),
            ),
        ),
        (
            "the P-256 OID with a P-384 point",
            Alg::ES256,
            pem("PUBLIC KEY", &spki(&ec_id(OID_P256), &p384)),
        ),
        (
            "the P-384 OID with a P-256 point",
            Alg::ES384,
            pem("PUBLIC KEY", &spki(&ec_id(OID_P384), &p256)),
        ),
        (
            "an RSA key with a bit string as its key",
            Alg::RS256,
            pem("PUBLIC KEY", &spki(&rsa_id(), &der(0x03, &rsa_key))),
        ),
        (
            "an empty key",
            Alg::ES256,
            pem("PUBLIC KEY", &spki(&ec_id(OID_P256), &[])),
        ),
        (
            "not base64",
            Alg::ES256,
            b"-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n".to_vec(),
        ),
        (
            "no end",
            Alg::ES256,
            ec_public[..ec_public.len() - 25].to_vec(),
        ),
        ("the DER itself", Alg::ES256, ec_der.clone()),
        ("empty", Alg::ES256, vec![]),
        (
            "a JWK",
            Alg::ES256,
            serde_json::to_vec(&public("ec_private.pem", Alg::ES256)).unwrap(),
        ),
    ];
    for (what, alg, input) in &cases {
        let message = assert_key_refused(
            JwtVerifier::public_key_pem(*alg, input, ISS, AUD),
            &[JwtConfigErrorKind::Key, JwtConfigErrorKind::Algorithm],
            what,
        );
        let b64_of_input = STANDARD.encode(input);
        assert!(
            !message.contains(&b64_of_input[..b64_of_input.len().min(40)]) || input.is_empty(),
            "{what}: the message quotes the key: {message}"
        );
    }
    // Garbage around one section is not a second key.
    let around = [
        b"garbage before\n".to_vec(),
        ec_public.clone(),
        b"\nafter".to_vec(),
    ]
    .concat();
    assert!(JwtVerifier::public_key_pem(Alg::ES256, &around, ISS, AUD).is_ok());
    // A secret-key algorithm with a PEM: `Algorithm`.
    assert_key_refused(
        JwtVerifier::public_key_pem(Alg::HS256, &ec_public, ISS, AUD),
        &[JwtConfigErrorKind::Algorithm],
        "HS256 with a PEM",
    );
    // Huge inputs are refused quickly.
    let started = std::time::Instant::now();
    let huge_section = pem("PUBLIC KEY", &vec![0x30; 8 << 20]);
    let huge_garbage = vec![b'A'; 16 << 20];
    let many = ec_public.repeat(20_000);
    for (what, input) in [
        ("8 MiB section", huge_section),
        ("16 MiB text", huge_garbage),
        ("20 000 sections", many),
    ] {
        assert_key_refused(
            JwtVerifier::public_key_pem(Alg::ES256, &input, ISS, AUD),
            &[JwtConfigErrorKind::Key],
            what,
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // A key rebuilt from its parts by this file is read (the probes' DER is right).
    for (alg, input) in [
        (
            Alg::ES256,
            pem("PUBLIC KEY", &spki(&ec_id(OID_P256), &p256)),
        ),
        (
            Alg::ES384,
            pem("PUBLIC KEY", &spki(&ec_id(OID_P384), &p384)),
        ),
        (Alg::RS256, pem("PUBLIC KEY", &spki(&rsa_id(), &rsa_key))),
        (Alg::RS256, pem("PUBLIC KEY", &rsa_der)),
    ] {
        assert!(
            JwtVerifier::public_key_pem(alg, &input, ISS, AUD).is_ok(),
            "{alg:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. jsonwebtoken's process-wide provider. Each scenario runs in a process of its own (the
//    provider is fixed once per process): this test binary, run again for one test.
// ---------------------------------------------------------------------------------------------

const CHILD: &str = "ATTACK_JWT_PROVIDER_SCENARIO";

fn run_scenario(scenario: &str) -> String {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "provider_scenario",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, scenario)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{scenario}: {text}");
    assert!(
        text.contains("SCENARIO DONE"),
        "{scenario} did not run: {text}"
    );
    text
}

/// An application that signs or verifies with `jsonwebtoken` before any verifier is built,
/// with none of `jsonwebtoken`'s crypto features, fixes a provider that panics; an application
/// that installs its own fixes one this library knows nothing of (here, one that takes any
/// signature). Either way the verifier refuses to be built (`CryptoProvider`), rather than
/// panicking on every token or taking forged ones.
#[test]
fn a_provider_fixed_before_the_library_refuses_the_verifier() {
    let text = run_scenario("first-use");
    assert!(text.contains("refused: CryptoProvider"), "{text}");
    let text = run_scenario("own-provider");
    assert!(text.contains("refused: CryptoProvider"), "{text}");
    // The public installer first: everything works.
    let text = run_scenario("installed-first");
    assert!(text.contains("accepted: mallory"), "{text}");
}

mod lax {
    use jsonwebtoken::{
        Algorithm, DecodingKey, EncodingKey,
        crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils},
        errors::{ErrorKind, Result},
        signature::{Error, Verifier},
    };

    /// A provider that takes every signature.
    pub static PROVIDER: CryptoProvider = CryptoProvider {
        signer_factory: no_signer,
        verifier_factory: any_signature,
        key_utils: KeyUtils::new_unimplemented(),
    };

    struct Lax(Algorithm);

    impl Verifier<Vec<u8>> for Lax {
        fn verify(&self, _: &[u8], _: &Vec<u8>) -> std::result::Result<(), Error> {
            Ok(())
        }
    }

    impl JwtVerifier for Lax {
        fn algorithm(&self) -> Algorithm {
            self.0
        }
    }

    fn no_signer(_: &Algorithm, _: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
        Err(ErrorKind::InvalidAlgorithm.into())
    }

    fn any_signature(alg: &Algorithm, _: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
        Ok(Box::new(Lax(*alg)))
    }
}

#[test]
#[ignore = "one scenario of a_provider_fixed_before_the_library_refuses_the_verifier, in a process of its own"]
fn provider_scenario() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    let secret = "a-secret-of-at-least-32-bytes-long!";
    match scenario.as_str() {
        "first-use" => {
            let first = std::panic::catch_unwind(|| {
                jsonwebtoken::encode(
                    &jsonwebtoken::Header::default(),
                    &claims(),
                    &EncodingKey::from_secret(secret.as_bytes()),
                )
            });
            println!(
                "the application's first jsonwebtoken call panicked: {}",
                first.is_err()
            );
        }
        "own-provider" => {
            lax::PROVIDER.install_default().unwrap();
        }
        "installed-first" => {
            mcp_secure::auth::install_jwt_crypto();
            jsonwebtoken::encode(
                &jsonwebtoken::Header::default(),
                &claims(),
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap();
        }
        other => panic!("no scenario {other}"),
    }
    let built = JwtVerifier::hs256(SecretString::new(secret.into()), ISS, AUD);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    match built {
        Err(e) => println!("refused: {:?}: {e}", e.kind()),
        Ok(verifier) => {
            let token = if scenario == "installed-first" {
                jsonwebtoken::encode(
                    &jsonwebtoken::Header::default(),
                    &claims(),
                    &EncodingKey::from_secret(secret.as_bytes()),
                )
                .unwrap()
            } else {
                with_signature(&header("HS256"), &claims(), b"forged")
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(verdict(&verifier, &token))
            }));
            match outcome {
                Ok(Ok(subject)) => println!("accepted: {subject}"),
                Ok(Err(reason)) => println!("verify refused: {reason}"),
                Err(_) => println!("verify panicked"),
            }
        }
    }
    println!("SCENARIO DONE");
}

// ---------------------------------------------------------------------------------------------
// 6. Over HTTP: the demo with `--issuer`, in front of a loopback identity provider of ours.
// ---------------------------------------------------------------------------------------------

/// Discovery and a JWK Set (an ES256 key `ec`, an RS256 key `rsa`) on a free loopback port;
/// its issuer URL.
async fn loopback_idp() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let metadata = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/jwks")}).to_string();
    let jwks = jwk_set(&[
        jwk("ec", "ES256", &public("ec_private.pem", Alg::ES256)),
        jwk("rsa", "RS256", &public("rsa_private.pem", Alg::RS256)),
    ])
    .to_string();
    let json = |text: String| ([("content-type", "application/json")], text);
    let app = axum::Router::new()
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || async move { json(metadata) }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || async move { json(jwks) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

/// A stateless `tools/call` of `whoami` with `Authorization: Bearer token`: the status, the
/// `WWW-Authenticate` challenge, and the body.
async fn whoami(url: &str, token: &str) -> (u16, String, String) {
    // Each request from an address of its own, so that the failed-authentication limit (per
    // address) does not answer for the verifier.
    use std::sync::atomic::{AtomicU32, Ordering};
    static CLIENT: AtomicU32 = AtomicU32::new(1);
    let client = std::net::Ipv4Addr::from(0x0a00_0000 + CLIENT.fetch_add(1, Ordering::Relaxed));
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "whoami", "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let response = common::rpc(
        &reqwest::Client::new(),
        url,
        Some(&format!("Bearer {token}")),
    )
    .header("Mcp-Name", "whoami")
    .header("MCP-Protocol-Version", "2026-07-28")
    .header("Mcp-Method", "tools/call")
    .header("X-Forwarded-For", client.to_string())
    .json(&body)
    .send()
    .await
    .unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, challenge, response.text().await.unwrap_or_default())
}

/// Forged tokens of every class above, sent to the demo verifying an external issuer's JWTs:
/// each is a 401 whose challenge is the same generic one, and neither the answer, the server's
/// log nor its audit trail holds any part of a token. ECDSA's second form of a good token is
/// the same caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_tokens_over_http_are_401_and_leak_nothing() {
    let issuer = loopback_idp().await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (files, _outside) = common::files_dir();
    let server = common::HttpServer::start_with(
        None,
        files.path(),
        &[
            "--issuer",
            &issuer,
            "--fetch-allow",
            "127.0.0.1",
            "--audit-log",
            audit.to_str().unwrap(),
            "--trusted-proxy",
            "127.0.0.1/32",
        ],
    );
    let url = server.url.clone();
    let claims = |extra: Value| {
        let mut c = json!({"iss": issuer, "aud": url, "sub": "mallory", "exp": now() + 600,
            "scope": "notes:read notes:write"});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    };
    let ec_key = private("ec_private.pem", Alg::ES256);
    let rsa_key = private("rsa_private.pem", Alg::RS256);
    let ec = |h: Value, c: Value| signed(&ec_key, Alg::ES256, &h, &c);
    let good = ec(json!({"alg": "ES256", "kid": "ec"}), claims(json!({})));
    let (status, _, body) = whoami(&url, &good).await;
    assert_eq!(status, 200, "the good token: {body}");
    assert!(body.contains("mallory"), "{body}");

    let (message, signature) = good.rsplit_once('.').unwrap();
    let raw = unb64(signature);
    let high_s = [&raw[..32], &sub_be(&P256_N, &raw[32..])[..]].concat();
    let (status, _, body) = whoami(&url, &format!("{message}.{}", b64(&high_s))).await;
    assert_eq!(status, 200, "ECDSA's other form: {body}");
    assert!(body.contains("mallory"), "{body}");

    let ec_public = key_file("ec_public.pem");
    let mut small = [0u8; 32];
    small[0] = 1;
    let forged: Vec<(&str, String)> = vec![
        (
            "alg none",
            with_signature(
                &json!({"alg": "none", "kid": "ec"}),
                &claims(json!({})),
                &[],
            ),
        ),
        (
            "HS256 keyed with the PEM",
            signed(
                &EncodingKey::from_secret(&ec_public),
                Alg::HS256,
                &json!({"alg": "HS256", "kid": "ec"}),
                &claims(json!({})),
            ),
        ),
        (
            "HS256 without kid",
            signed(
                &EncodingKey::from_secret(&ec_public),
                Alg::HS256,
                &json!({"alg": "HS256"}),
                &claims(json!({})),
            ),
        ),
        (
            "RS256 under the EC kid",
            signed(
                &rsa_key,
                Alg::RS256,
                &json!({"alg": "RS256", "kid": "ec"}),
                &claims(json!({})),
            ),
        ),
        (
            "ES384 under the EC kid",
            ec(json!({"alg": "ES384", "kid": "ec"}), claims(json!({}))),
        ),
        (
            "DER signature",
            format!(
                "{message}.{}",
                b64(seq(&[int(&raw[..32]), int(&raw[32..])]))
            ),
        ),
        ("padded signature", format!("{good}=")),
        (
            "standard alphabet",
            format!("{message}.{}", STANDARD.encode(&raw)),
        ),
        ("trailing part", format!("{good}.{signature}")),
        (
            "an unknown kid",
            ec(json!({"alg": "ES256", "kid": "nobody"}), claims(json!({}))),
        ),
        (
            "crit",
            ec(
                json!({"alg": "ES256", "kid": "ec", "crit": ["exp"]}),
                claims(json!({})),
            ),
        ),
        (
            "expired",
            ec(
                json!({"alg": "ES256", "kid": "ec"}),
                claims(json!({"exp": now() - 120})),
            ),
        ),
        (
            "another audience",
            ec(
                json!({"alg": "ES256", "kid": "ec"}),
                claims(json!({"aud": "https://other.example/mcp"})),
            ),
        ),
        (
            "another issuer",
            ec(
                json!({"alg": "ES256", "kid": "ec"}),
                claims(json!({"iss": "https://evil.example"})),
            ),
        ),
        (
            "small-order EdDSA forgery",
            with_signature(
                &json!({"alg": "EdDSA", "kid": "ec"}),
                &claims(json!({})),
                &[small, [0; 32]].concat(),
            ),
        ),
        (
            "lowercase alg",
            with_signature(
                &json!({"alg": "es256", "kid": "ec"}),
                &claims(json!({})),
                &raw,
            ),
        ),
    ];
    let mut challenges = std::collections::BTreeSet::new();
    for (what, token) in &forged {
        let (status, challenge, body) = whoami(&url, token).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            !body.contains("mallory") && !body.contains("\"result\""),
            "{what}: {body}"
        );
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(
                !body.contains(part),
                "{what}: the answer quotes the token: {body}"
            );
            assert!(
                !challenge.contains(part),
                "{what}: the challenge quotes the token: {challenge}"
            );
        }
        challenges.insert(challenge);
    }
    assert_eq!(
        challenges.len(),
        1,
        "the challenges tell refusals apart: {challenges:#?}"
    );
    let challenge = challenges.into_iter().next().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );

    // Nothing of a token, or of a key, in the log or the audit trail.
    let log = server.drain_stderr().join("\n");
    let trail = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(
        trail.contains("authentication_failed"),
        "nothing audited: {trail}"
    );
    let ec_x = match public("ec_private.pem", Alg::ES256) {
        AlgorithmParameters::EllipticCurve(p) => p.x,
        _ => unreachable!(),
    };
    let mut all = forged.clone();
    all.push(("good", good.clone()));
    for (what, token) in &all {
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!log.contains(part), "{what}: the log holds a token part");
            assert!(
                !trail.contains(part),
                "{what}: the audit trail holds a token part"
            );
        }
    }
    assert!(
        !log.contains(&ec_x) && !trail.contains(&ec_x),
        "a key in the log"
    );
    assert!(!log.contains("panicked"), "{log}");
}
