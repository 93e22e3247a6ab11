//! Requests to a subscriber's callback about its subscription (§5.2, §5.3):
//! the denial of a request, and the verification of intent.

use std::time::Duration;

use super::request::{HubRequest, Mode};
use super::{MAX_ANSWER_BYTES, VERIFY_TIMEOUT};

/// Tells the callback its request is denied (§5.2). What it answers does
/// not matter.
pub async fn deny(client: &reqwest::Client, req: &HubRequest, reason: &str) {
    let mut url = req.callback.clone();
    url.query_pairs_mut()
        .append_pair("hub.mode", "denied")
        .append_pair("hub.topic", &req.topic.url)
        .append_pair("hub.reason", reason);
    let _ = client.get(url).timeout(VERIFY_TIMEOUT).send().await;
}

/// Asks the callback to confirm the request (§5.3): it must answer 2xx
/// with a body equal to a random challenge. Why not, otherwise.
pub async fn intent(
    client: &reqwest::Client,
    req: &HubRequest,
    lease: Duration,
) -> Result<(), String> {
    let challenge = challenge().map_err(|e| format!("no randomness for a challenge: {e}"))?;
    let mut url = req.callback.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("hub.mode", req.mode.as_str())
            .append_pair("hub.topic", &req.topic.url)
            .append_pair("hub.challenge", &challenge);
        if req.mode == Mode::Subscribe {
            q.append_pair("hub.lease_seconds", &lease.as_secs().to_string());
        }
    }
    let mut resp = client
        .get(url)
        .timeout(VERIFY_TIMEOUT)
        .send()
        .await
        .map_err(|e| {
            format!(
                "the callback did not answer: {}",
                crate::urls::redact_urls(&e.to_string())
            )
        })?;
    if !resp.status().is_success() {
        return Err(format!("the callback answered {}", resp.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|_| "the callback's answer broke off".to_string())?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err("the callback's answer is not the challenge (too long)".into());
        }
    }
    if body.trim_ascii() != challenge.as_bytes() {
        return Err("the callback's answer is not the challenge".into());
    }
    Ok(())
}

/// 128 random bits, in hex.
fn challenge() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)?;
    Ok(crate::text::hex(&bytes))
}
