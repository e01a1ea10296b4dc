//! Bounded HTTP fetches of what others publish (an issuer's keys and metadata, a client's
//! metadata document, an introspection answer): 5 s per request, no redirects (a redirect could
//! take the fetch to a host nobody named), and the body refused past a cap before more is read.

use std::time::Duration;

/// The HTTP client of bounded fetches.
pub(crate) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Why a bounded read failed.
pub(crate) enum ReadError {
    /// The body is larger than the cap.
    TooLarge,
    /// The connection failed.
    Failed(reqwest::Error),
}

/// The body of `response`, refused past `max` bytes before more is read.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Failed)? {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(any(feature = "jwks", feature = "dev-auth"))]
/// The body at `url` (a `GET` asking for JSON), at most `max` bytes, from a success status.
pub(crate) async fn get_capped(
    client: &reqwest::Client,
    url: &str,
    max: usize,
) -> Result<Vec<u8>, String> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("fetching failed: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("the URL answered {}", response.status()));
    }
    read_capped(response, max).await.map_err(|e| match e {
        ReadError::TooLarge => format!("larger than {} KiB", max / 1024),
        ReadError::Failed(e) => format!("reading failed: {}", e.without_url()),
    })
}
